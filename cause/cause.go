// Package cause is sshwhy's vocabulary: why a connection ended (Cause), in
// which phase (Phase), and how sure sshwhy is (Confidence).
//
// The causes are data (causes.yaml beside this file): name, rank, colour,
// summary, remedy and the sshd settings the remedy is about. Everything
// that names a cause reads this package: the rules loader validates rules
// against it, the classifier ranks with it, the outputs colour and explain
// with it. It imports nothing of sshwhy.
package cause

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Cause is why a connection ended. The string values are part of the
// product's contract (events, the index, queries).
type Cause string

// The causes, as in causes.yaml.
const (
	UserLogout         Cause = "user_logout"
	AuthFailure        Cause = "auth_failure"
	AccessDenied       Cause = "access_denied"
	GraceTimeout       Cause = "grace_timeout"
	ClientTimeout      Cause = "client_timeout"
	IdleTimeout        Cause = "idle_timeout"
	HostKeyMismatch    Cause = "host_key_mismatch"
	NegotiationFailure Cause = "negotiation_failure"
	Probe              Cause = "probe"
	ProtocolError      Cause = "protocol_error"
	PacketCorruption   Cause = "packet_corruption"
	NetworkReset       Cause = "network_reset"
	ConnectionLost     Cause = "connection_lost"
	RateLimited        Cause = "rate_limited"
	ServerShutdown     Cause = "server_shutdown"
	Unknown            Cause = "unknown"
)

// Info describes one cause.
type Info struct {
	Name     Cause    `yaml:"name"`
	Rank     int      `yaml:"rank"`
	Colour   string   `yaml:"colour"` // red, yellow, green, magenta or none
	Summary  string   `yaml:"summary"`
	Remedy   string   `yaml:"remedy"`
	Settings []string `yaml:"settings"` // sshd_config keywords the remedy is about
	Advice   string   `yaml:"advice"`   // template: what the server's settings say (remedy.go)
}

//go:embed causes.yaml
var table []byte

var (
	infos  []Info
	byName map[Cause]*Info
	all    []Cause
)

func init() {
	var err error
	if infos, err = parse(table); err != nil {
		panic("cause: causes.yaml: " + err.Error())
	}
	byName = make(map[Cause]*Info, len(infos))
	for i := range infos {
		byName[infos[i].Name] = &infos[i]
		all = append(all, infos[i].Name)
	}
}

// parse reads and checks the table.
func parse(b []byte) ([]Info, error) {
	var list []Info
	if err := yaml.Unmarshal(b, &list); err != nil {
		return nil, err
	}
	seen := map[Cause]bool{}
	ranks := map[int]Cause{}
	for _, in := range list {
		switch {
		case in.Name == "":
			return nil, fmt.Errorf("a cause has no name")
		case seen[in.Name]:
			return nil, fmt.Errorf("cause %s twice", in.Name)
		case in.Summary == "" || in.Remedy == "":
			return nil, fmt.Errorf("cause %s needs a summary and a remedy", in.Name)
		}
		if c, dup := ranks[in.Rank]; dup {
			return nil, fmt.Errorf("causes %s and %s have the same rank %d", c, in.Name, in.Rank)
		}
		if _, ok := colourCodes[in.Colour]; !ok {
			return nil, fmt.Errorf("cause %s: unknown colour %q", in.Name, in.Colour)
		}
		seen[in.Name], ranks[in.Rank] = true, in.Name
	}
	return list, nil
}

// All lists every cause in the order of the taxonomy. The caller must not
// modify it.
func All() []Cause { return all }

// Valid reports whether c is a known cause.
func (c Cause) Valid() bool { _, ok := byName[c]; return ok }

// Info returns the description of c; the zero Info for an unknown cause.
func (c Cause) Info() Info {
	if in, ok := byName[c]; ok {
		return *in
	}
	return Info{Name: c, Rank: -1}
}

// Rank orders causes when a connection's lines point to several: the
// higher rank wins. Unknown causes rank -1.
func (c Cause) Rank() int {
	if in, ok := byName[c]; ok {
		return in.Rank
	}
	return -1
}

// Parse returns the cause named s, or an error that lists the causes.
func Parse(s string) (Cause, error) {
	c := Cause(strings.TrimSpace(s))
	if !c.Valid() {
		return "", fmt.Errorf("unknown cause %q (causes: %s)", s, List())
	}
	return c, nil
}

// List is the causes joined by ", ", for error messages and help texts.
func List() string {
	s := make([]string, len(all))
	for i, c := range all {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

var colourCodes = map[string]string{"red": "31", "yellow": "33", "green": "32", "magenta": "35", "none": ""}

// ANSI returns c wrapped in its terminal colour (c itself when it has none).
func (c Cause) ANSI() string {
	code := colourCodes[c.Info().Colour]
	if code == "" {
		return string(c)
	}
	return "\x1b[" + code + "m" + string(c) + "\x1b[0m"
}

// Phase is where in its life a connection ended: before or after
// authentication succeeded.
type Phase string

// The phases.
const (
	Preauth  Phase = "preauth"
	Postauth Phase = "postauth"
)

// Phases lists the phases.
var Phases = []Phase{Preauth, Postauth}

// Valid reports whether p is a known phase.
func (p Phase) Valid() bool { return slices.Contains(Phases, p) }

// Confidence says whether a log line stated the cause or sshwhy deduced it.
type Confidence string

// The confidences.
const (
	Certain  Confidence = "certain"  // a log line states the cause
	Inferred Confidence = "inferred" // the state machine deduced it
)

// Confidences lists the confidences.
var Confidences = []Confidence{Certain, Inferred}

// Valid reports whether c is a known confidence.
func (c Confidence) Valid() bool { return slices.Contains(Confidences, c) }
