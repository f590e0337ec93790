package ingest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
)

// maxKey bounds the length of a journal field name.
const maxKey = 64

// nextExport decodes one entry of a `journalctl -o export` stream: lines
// "KEY=value", or "KEY\n" followed by a 64-bit little-endian length, the
// data and "\n" for binary values; entries end with a blank line.
func (f *File) nextExport() (Line, error) {
	f.e.reset()
	fields := 0
	for {
		b, truncated, err := f.readLine(f.opt.MaxLine + maxKey)
		if err != nil {
			if err == io.EOF && fields > 0 {
				break // last entry without its blank line
			}
			return Line{}, err
		}
		if len(b) == 0 {
			if fields > 0 {
				break
			}
			continue
		}
		fields++
		if eq := bytes.IndexByte(b, '='); eq >= 0 {
			if key := string(b[:eq]); wanted(key) {
				f.e.set(key, string(b[eq+1:]))
				f.e.truncated = f.e.truncated || truncated && key == "MESSAGE"
			}
		} else if len(b) <= maxKey {
			if err := f.binaryField(string(b)); err != nil {
				f.err = io.EOF // the stream is out of step; stop after this error
				return Line{}, err
			}
		}
		// else: an overlong line without '=' is no field; skip it.
	}
	return f.e.line(FormatExport, f.opt.Loc, f.opt.MaxLine), nil
}

// binaryField reads the length-prefixed value of field key.
func (f *File) binaryField(key string) error {
	fail := func(err error) error {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("ingest: %s: journal export field %s at byte %d: %w", f.path, key, f.off, err)
	}
	var hdr [8]byte
	if _, err := io.ReadFull(f.br, hdr[:]); err != nil {
		return fail(err)
	}
	f.off += 8
	size := binary.LittleEndian.Uint64(hdr[:])
	if size > 1<<40 {
		return fail(fmt.Errorf("implausible length %d", size))
	}
	keep := 0
	if wanted(key) {
		keep = int(min(size, uint64(f.opt.MaxLine)))
	}
	data := make([]byte, keep)
	if _, err := io.ReadFull(f.br, data); err != nil {
		return fail(err)
	}
	f.off += int64(keep)
	if rest := int64(size) - int64(keep); rest > 0 {
		n, err := io.CopyN(io.Discard, f.br, rest)
		f.off += n
		if err != nil {
			return fail(err)
		}
	}
	if c, err := f.br.ReadByte(); err != nil || c != '\n' {
		if err == nil {
			err = fmt.Errorf("byte %#x after the value, want a newline", c)
		}
		return fail(err)
	}
	f.off++
	if keep > 0 {
		f.e.set(key, string(data))
		f.e.truncated = f.e.truncated || key == "MESSAGE" && uint64(keep) < size
	}
	return nil
}

// jsonRecord holds the fields of a `journalctl -o json` record that a Line
// needs. A value is a string, null, an array of byte values (for data that
// is not UTF-8), or an array of those (for a field that occurs twice).
type jsonRecord struct {
	Realtime  json.RawMessage `json:"__REALTIME_TIMESTAMP"`
	Cursor    json.RawMessage `json:"__CURSOR"`
	Host      json.RawMessage `json:"_HOSTNAME"`
	Ident     json.RawMessage `json:"SYSLOG_IDENTIFIER"`
	Comm      json.RawMessage `json:"_COMM"`
	PID       json.RawMessage `json:"_PID"`
	SyslogPID json.RawMessage `json:"SYSLOG_PID"`
	Message   json.RawMessage `json:"MESSAGE"`
}

// nextJSON decodes one line of a `journalctl -o json` stream. A line that
// is not a journal record (not JSON, no MESSAGE or timestamp, or too long
// to be read whole) is returned as it is, with FormatUnknown, so that it is
// counted rather than lost.
func (f *File) nextJSON() (Line, error) {
	for {
		// Escapes and byte arrays make JSON longer than the message.
		b, truncated, err := f.readLine(8*f.opt.MaxLine + 4096)
		if err != nil {
			return Line{}, err
		}
		if len(bytes.TrimSpace(b)) == 0 && !truncated {
			continue
		}
		var r jsonRecord
		if truncated || json.Unmarshal(b, &r) != nil || r.Message == nil && r.Realtime == nil {
			raw := string(b[:min(len(b), f.opt.MaxLine)])
			return Line{Raw: raw, Message: raw, Prec: -1, Truncated: truncated || len(b) > f.opt.MaxLine}, nil
		}
		e := &f.e
		e.reset()
		e.set("__REALTIME_TIMESTAMP", jsonValue(r.Realtime))
		e.cursor = jsonValue(r.Cursor)
		e.host = jsonValue(r.Host)
		e.ident = jsonValue(r.Ident)
		e.comm = jsonValue(r.Comm)
		e.pid = jsonValue(r.PID)
		e.syslogPID = jsonValue(r.SyslogPID)
		e.message = jsonValue(r.Message)
		return e.line(FormatJSON, f.opt.Loc, f.opt.MaxLine), nil
	}
}

// jsonValue returns a journal field value from its JSON form: a string, a
// number, null (""), an array of byte values, or an array of values (the
// first is used).
func jsonValue(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	case '[':
		var nums []uint8
		if json.Unmarshal(raw, &nums) == nil {
			return string(nums)
		}
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) == nil && len(items) > 0 {
			return jsonValue(items[0])
		}
	case 'n': // null
		return ""
	default:
		if raw[0] == '-' || isDigit(raw[0]) {
			return string(raw)
		}
	}
	return ""
}
