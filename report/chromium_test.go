package report

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	cdpnet "github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

const chromiumBin = "/usr/bin/chromium"

// TestHTMLInChromium opens the fixture's HTML report (hostile values
// included) in Debian's headless Chromium and fails on any network
// request besides the file itself, any console message, exception or
// browser log entry (a CSP violation is one), and any script element; it
// checks the hostile names show as text and keeps a screenshot (go test
// -artifacts keeps it in the artifact directory). A control page that
// loads an image and logs proves the checks catch both.
func TestHTMLInChromium(t *testing.T) {
	t.Run("report", func(t *testing.T) {
		got := openInChromium(t, render(t, build(t, fixtureOptions(t)), FormatHTML))
		for _, r := range got.requests {
			if r != got.url {
				t.Errorf("the page made a request: %s", r)
			}
		}
		if len(got.requests) == 0 {
			t.Error("no request seen at all: the network listener is not working")
		}
		for _, c := range got.console {
			t.Errorf("console: %s", c)
		}
		if got.scripts != 0 || got.svgs == 0 {
			t.Errorf("%d script elements, %d svg charts; want none and at least one", got.scripts, got.svgs)
		}
		if !strings.Contains(got.title, "SSH connection report") {
			t.Errorf("title %q", got.title)
		}
		for _, want := range []string{"<script>alert(1)</script>", `x\x1b[31mred`, "<img src=http://127.0.0.1:9/x>", "host key", "45.33.99.1\n45.33.99.2"} {
			if !strings.Contains(got.text, want) {
				t.Errorf("the page does not show %q as text", want)
			}
		}
		img, err := png.Decode(bytes.NewReader(got.shot))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 2000 {
			t.Errorf("screenshot is %v: the page did not render whole", b)
		}
		out := filepath.Join(t.ArtifactDir(), "report.png")
		if err := os.WriteFile(out, got.shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", out)
	})
	t.Run("control", func(t *testing.T) {
		got := openInChromium(t, []byte(`<!DOCTYPE html><title>control</title><body><img src="http://127.0.0.1:9/x.png"><script>console.error("boom")</script></body>`))
		if len(got.requests) < 2 || len(got.console) == 0 {
			t.Errorf("the checks missed a request or a console message: requests %v console %v", got.requests, got.console)
		}
	})
}

type pageRun struct {
	url, title, text  string
	requests, console []string
	scripts, svgs     int
	shot              []byte
}

// openInChromium loads page from a file in headless Chromium and records
// what happened.
func openInChromium(t *testing.T, page []byte) *pageRun {
	t.Helper()
	if _, err := exec.LookPath(chromiumBin); err != nil {
		t.Fatalf("needs %s (make deps-test installs Debian's chromium): %v", chromiumBin, err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "page.html")
	if err := os.WriteFile(path, page, 0o644); err != nil {
		t.Fatal(err)
	}
	got := &pageRun{url: "file://" + path}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumBin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true), chromedp.Flag("disable-extensions", true),
		chromedp.WindowSize(1100, 900))
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()

	var mu sync.Mutex
	err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *cdpnet.EventRequestWillBeSent:
			got.requests = append(got.requests, ev.Request.URL)
		case *runtime.EventConsoleAPICalled:
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			got.console = append(got.console, string(ev.Type)+": "+strings.Join(args, " "))
		case *runtime.EventExceptionThrown:
			got.console = append(got.console, "exception: "+ev.ExceptionDetails.Text)
		case *cdplog.EventEntryAdded: // the browser's own log: CSP violations, failed loads
			got.console = append(got.console, "log "+string(ev.Entry.Level)+": "+ev.Entry.Text)
		}
	})
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	enable := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, cdpnet.Enable, cdpnet.EnableParams{}); err != nil {
			return err
		}
		if _, err := cdp.Call(ctx, tg, runtime.Enable, cdp.Empty{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, cdplog.Enable, cdp.Empty{})
		return err
	})
	if err := chromedp.Do(ctx, enable, chromedp.Navigate(got.url), chromedp.WaitReady("body")); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	step := func(err error) {
		if err != nil {
			t.Fatalf("chromium: %v", err)
		}
	}
	var err2 error
	got.title, err2 = chromedp.Run(ctx, chromedp.Title())
	step(err2)
	got.scripts, err2 = chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("script").length`))
	step(err2)
	got.svgs, err2 = chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("svg").length`))
	step(err2)
	got.text, err2 = chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	step(err2)
	got.shot, err2 = chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	step(err2)
	time.Sleep(300 * time.Millisecond) // events still in flight
	mu.Lock()
	defer mu.Unlock()
	got.requests = append([]string(nil), got.requests...)
	got.console = append([]string(nil), got.console...)
	return got
}
