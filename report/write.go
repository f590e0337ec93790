package report

import (
	"context"
	"io"

	"github.com/sshwhy/sshwhy/cause"
	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/sshdconfig"
)

// Write builds the report of opt's period from src and renders it in
// format to w: what `sshwhy report` and the agent's schedule call.
func Write(ctx context.Context, src Source, opt Options, format string, w io.Writer) error {
	if err := checkFormat(format); err != nil {
		return err
	}
	r, err := Build(ctx, src, opt)
	if err != nil {
		return err
	}
	return Render(w, r, format)
}

func checkFormat(format string) error {
	for _, f := range Formats {
		if f == format {
			return nil
		}
	}
	return Render(io.Discard, &Report{}, format) // the error that names the formats
}

// Remedy is what to do about one event: its cause's remedy, then what the
// server's settings cfg say about it (nil cfg: the remedy alone). It is
// the text `classify`/`search --explain` show.
func Remedy(ev *classify.Event, cfg *sshdconfig.Config) string {
	if ev == nil {
		return ""
	}
	in := ev.Cause.Info()
	out := in.Remedy
	if cfg == nil {
		return out
	}
	if a := ev.Cause.Advice(cfg, cause.Facts{Phase: string(ev.Phase), Confidence: string(ev.Confidence)}); a != "" {
		out += ". " + a
	}
	return out
}
