package victorialogs

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func authFile(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "auth")
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, mode)
	return p
}

func TestClientConfig(t *testing.T) {
	tests := []struct {
		url, auth string
		mode      os.FileMode
		want      string
	}{
		{"http://127.0.0.1:9428", "user=a\npassword=b\n", 0o644, "readable by others"},
		{"http://127.0.0.1:9428", "user=a\ntoken=b\n", 0o600, "not both"},
		{"http://127.0.0.1:9428", "# nothing\n", 0o600, "no credentials"},
		{"http://127.0.0.1:9428", "pass=b\n", 0o600, `unknown key "pass"`},
		{"http://127.0.0.1:9428", "just a password\n", 0o600, "want key=value"},
		{"127.0.0.1:9428", "", 0, "want http://HOST:PORT"},
		{"http://a:b@127.0.0.1:9428", "", 0, "credentials do not belong in the URL"},
		{"http://127.0.0.1:9428/?x=1", "", 0, "no query"},
	}
	for _, tt := range tests {
		var opt ClientOptions
		if tt.auth != "" {
			opt.AuthFile = authFile(t, tt.auth, tt.mode)
		}
		_, err := NewClient(tt.url, opt)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s %q: %v, want %q", tt.url, tt.auth, err, tt.want)
		}
	}
	if _, err := NewClient("http://127.0.0.1:9428", ClientOptions{CAFile: "/etc/hostname"}); !errors.Is(err, ErrConfig) {
		t.Errorf("CA for http: %v", err)
	}
}

// TestBearerToken: VictoriaLogs itself only knows basic auth (tested
// against it in cmd/sshwhy); a token is for a proxy in front of it
// (vmauth, nginx). This checks the header the client sends, and that a
// path prefix is kept.
func TestBearerToken(t *testing.T) {
	var got, path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, path = r.Header.Get("Authorization"), r.URL.Path
	}))
	defer srv.Close()
	c, err := NewClient(srv.URL+"/logs/", ClientOptions{AuthFile: authFile(t, "token=abc.def\n", 0o600)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.insert(context.Background(), []byte("{}\n"), false); err != nil {
		t.Fatal(err)
	}
	if got != "Bearer abc.def" || path != "/logs/insert/jsonline" {
		t.Errorf("Authorization %q, path %q", got, path)
	}
}
