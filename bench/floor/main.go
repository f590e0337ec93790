// Command floor is the floor under `sshwhy classify --format json` on an
// event-dense log: what any classifier pays that keeps each line as
// evidence and writes it with its event. It reads FILE, copies each line
// into a string, groups the lines by pid in a map and, at the line that
// ends a connection ("Connection closed", "Connection reset",
// "Disconnected from"), writes them to stdout as the "lines" of an event
// through classify.AppendJSON, the same escaping as sshwhy's. It parses no
// timestamp, matches no rule and computes no id, so it classifies nothing:
// sshwhy's time minus floor's on the same file is what classification
// costs. bench/run.sh times it beside grep -c.
//
//	floor FILE > /dev/null
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/sshwhy/sshwhy/classify"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: floor FILE > OUT")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	w := bufio.NewWriterSize(os.Stdout, 64<<10)
	lines, events, err := run(f, w)
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "floor: %d lines, %d events\n", lines, events)
}

var ends = [][]byte{[]byte("Connection closed"), []byte("Connection reset"), []byte("Disconnected from")}

func run(r io.Reader, w io.Writer) (lines, events int, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	conns := map[int][]string{}
	var ev classify.Event
	buf := make([]byte, 0, 4096)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) == 0 {
			if err == io.EOF {
				return lines, events, nil
			}
			return lines, events, err
		}
		lines++
		line = bytes.TrimSuffix(line, []byte{'\n'})
		i := bytes.IndexByte(line, '[')
		j := bytes.Index(line, []byte("]: "))
		if i < 0 || j < i {
			continue
		}
		pid, _ := strconv.Atoi(string(line[i+1 : j]))
		conns[pid] = append(conns[pid], string(line))
		msg := line[j+3:]
		end := false
		for _, e := range ends {
			end = end || bytes.HasPrefix(msg, e)
		}
		if !end {
			continue
		}
		ev.Lines = conns[pid]
		buf = classify.AppendJSON(buf[:0], &ev)
		buf = append(buf, '\n')
		if _, err := w.Write(buf); err != nil {
			return lines, events, err
		}
		events++
		delete(conns, pid)
	}
}
