package victorialogs

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// ErrConfig is wrapped by every error about a malformed server address,
// credentials file or CA file.
var ErrConfig = errors.New("bad VictoriaLogs configuration")

func configError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
}

// ClientOptions say how to reach a server; zero values take the defaults.
type ClientOptions struct {
	// AuthFile holds the credentials, one key=value a line: `user=` and
	// `password=` for basic auth, or `token=` for a bearer token (blank
	// lines and # comments allowed). It must not be readable by group or
	// others. Credentials are never taken from the command line or the URL.
	AuthFile string
	// CAFile is a PEM bundle of the CAs that sign the server's
	// certificate, instead of the system roots (https only).
	CAFile string
	// Timeout bounds one request; default 60s.
	Timeout time.Duration
}

// Client talks to one VictoriaLogs server (a single node, or the front
// node of a cluster).
type Client struct {
	base  *url.URL
	hc    *http.Client
	user  string
	pass  string
	token string
}

// NewClient checks rawURL (http or https, host, optional path prefix, no
// credentials) and loads the options' files.
func NewClient(rawURL string, opt ClientOptions) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, configError("%q is not a URL (want http://HOST:PORT or https://HOST:PORT): %v", rawURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, configError("%q: want http://HOST:PORT or https://HOST:PORT", rawURL)
	}
	if u.User != nil {
		return nil, configError("%s: credentials do not belong in the URL (they would show in ps and shell history); put them in an auth file", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, configError("%s: the URL takes no query or fragment", rawURL)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	if opt.Timeout <= 0 {
		opt.Timeout = 60 * time.Second
	}
	c := &Client{base: u}
	if opt.AuthFile != "" {
		if err := c.loadAuth(opt.AuthFile); err != nil {
			return nil, err
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 4
	if opt.CAFile != "" {
		if u.Scheme != "https" {
			return nil, configError("a CA file is for https, and %s is http", rawURL)
		}
		pem, err := os.ReadFile(opt.CAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, configError("%s holds no PEM certificate", opt.CAFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	c.hc = &http.Client{Transport: tr, Timeout: opt.Timeout}
	return c, nil
}

func (c *Client) loadAuth(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return configError("%s is readable by others (mode %04o): chmod 600 it", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return configError("%s:%d: want key=value (user, password or token)", path, n)
		}
		switch strings.TrimSpace(k) {
		case "user":
			c.user = v
		case "password":
			c.pass = v
		case "token":
			c.token = v
		default:
			return configError("%s:%d: unknown key %q (keys: user, password, token)", path, n, strings.TrimSpace(k))
		}
	}
	switch {
	case c.token != "" && (c.user != "" || c.pass != ""):
		return configError("%s: give a token or a user and password, not both", path)
	case c.token == "" && c.user == "":
		return configError("%s: no credentials (user=... and password=..., or token=...)", path)
	}
	return nil
}

// URL is the server's address (without credentials).
func (c *Client) URL() string { return c.base.String() }

func (c *Client) endpoint(path string) *url.URL {
	u := *c.base
	u.Path += path
	return &u
}

func (c *Client) do(req *http.Request) (*http.Response, error) {
	switch {
	case c.token != "":
		req.Header.Set("Authorization", "Bearer "+c.token)
	case c.user != "":
		req.SetBasicAuth(c.user, c.pass)
	}
	return c.hc.Do(req)
}
