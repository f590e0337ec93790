package checkpoint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/ingest"
)

func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "checkpoint.json")
	c, err := Load(path)
	if err != nil || len(c.Files) != 0 || c.State != nil {
		t.Fatalf("missing checkpoint: %+v, %v", c, err)
	}
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	a := ingest.FileID{Dev: 1, Ino: 2, FP: "aa", FPLen: 1024}
	b := ingest.FileID{Dev: 1, Ino: 3, FP: "bb", FPLen: 10}
	c.Put("/var/log/auth.log", a, 100, now)
	c.Put("/var/log/auth.log", b, 5, now)
	c.Put("/var/log/auth.log.1", a, 200, now) // the same file, renamed and read further
	c.Journals = map[string]string{"journal": "s=abc"}
	c.State = &classify.State{Now: now, Conns: []classify.ConnState{{ConnKeys: classify.ConnKeys{Host: "vm", PID: 7, Port: 4000}}}}
	if err := Save(path, c); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Files) != 2 || got.Files[0].Path != "/var/log/auth.log.1" || got.Files[0].Offset != 200 || got.Files[1].ID != b {
		t.Errorf("files %+v", got.Files)
	}
	if got.Journals["journal"] != "s=abc" || got.State == nil || len(got.State.Conns) != 1 || !got.State.Now.Equal(now) {
		t.Errorf("journals %v, state %+v", got.Journals, got.State)
	}
	got.Remove(a)
	got.Prune(now.Add(time.Hour))
	if len(got.Files) != 0 {
		t.Errorf("after Remove and Prune: %+v", got.Files)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("files left beside the checkpoint: %v", ents)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", fi.Mode())
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, content, want string }{
		{"damaged", `{"version":1,"files":[`, "damaged"},
		{"empty", ``, "damaged"},
		{"newer", `{"version":99}`, "newer sshwhy"},
	} {
		p := filepath.Join(dir, tc.name)
		os.WriteFile(p, []byte(tc.content), 0o644)
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if err := Save(filepath.Join(dir, "no", "such", "dir"), &Checkpoint{}); err == nil {
		t.Error("Save into a missing directory succeeded")
	}
}
