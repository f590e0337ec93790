package loggen

// Actors drive the simulation: each fires at a time, starts connections and
// reschedules itself.

type actorKind uint8

const (
	actSpawner  actorKind = iota // starts bot campaigns
	actCampaign                  // one stream of a campaign
	actUser                      // a real user's next login
)

type actor struct {
	at      int64
	seq     uint64
	kind    actorKind
	host    *host
	user    *user
	camp    *campaign
	streams int
}

func (g *generator) fire(a *actor) {
	switch a.kind {
	case actSpawner:
		g.spawn()
		a.at = g.now + g.expDur(int64(float64(second)*meanCampaignConns/g.cfg.Rate))
		g.actors.push(a, &g.seq)
	case actCampaign:
		if next := g.fireCampaign(a.camp, a.streams); next >= 0 {
			a.at = max(next, g.now)
			g.actors.push(a, &g.seq)
		}
	case actUser:
		g.userSession(a.host, a.user)
		u := a.user
		if u.kind == automation {
			a.at = g.now + u.gap + g.between(0, 30*second)
		} else {
			a.at = g.now + g.expDur(u.gap)
		}
		g.actors.push(a, &g.seq)
	}
}

// spawn starts a new bot campaign on a random host.
func (g *generator) spawn() {
	h := g.pickHost()
	weights := campaignWeights
	if g.cfg.Dense {
		weights = denseWeights
	}
	kind := campKind(g.pick(weights))
	c := g.newCampaign(kind, h)
	streams := 1
	if kind == campBrute && g.chance(0.3) {
		streams = 2 + g.rng.IntN(3)
	}
	for i := 0; i < streams; i++ {
		g.actors.push(&actor{at: g.now + g.between(0, 2*second), kind: actCampaign, camp: c, streams: streams}, &g.seq)
	}
}

// pickHost chooses the host of a new campaign: the 10.0 host with
// probability Config.Modern, else one of the Debian 12 hosts.
func (g *generator) pickHost() *host {
	if g.modern != nil && g.chance(g.cfg.Modern) {
		return g.modern
	}
	return g.hosts[g.rng.IntN(g.cfg.Hosts)]
}
