package index

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/blevesearch/bleve/v2"
)

// When the newest snapshot of a shard cannot be loaded (a segment file is
// missing or damaged), bleve logs it and silently opens the newest older
// snapshot that loads — possibly the empty one it wrote at creation. To
// notice, the writer records each shard's event count beside it whenever
// it closes or flushes it, and every open compares: fewer events than
// recorded means the shard is damaged.
const shardStateName = "sshwhy-shard.json"

type shardState struct {
	Events uint64 `json:"events"`
}

// recordShard saves the event count of the open shard at path.
func recordShard(path string, idx bleve.Index) error {
	n, err := idx.DocCount()
	if err != nil {
		return err
	}
	b, _ := json.Marshal(shardState{Events: n})
	tmp := filepath.Join(path, "."+shardStateName+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(path, shardStateName))
}

// checkShard compares the open shard at path with its recorded count.
func checkShard(path string, idx bleve.Index) error {
	b, err := os.ReadFile(filepath.Join(path, shardStateName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil // never closed by a writer (e.g. it crashed): nothing to compare
	}
	if err != nil {
		return err
	}
	var st shardState
	if err := json.Unmarshal(b, &st); err != nil {
		return reason(fmt.Sprintf("%s is damaged: %v", shardStateName, err))
	}
	n, err := idx.DocCount()
	if err != nil {
		return err
	}
	if n < st.Events {
		return reason(fmt.Sprintf("it holds %d events but %d were written (a segment file is missing or unreadable)", n, st.Events))
	}
	return nil
}
