package lab

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// packet builds an unencrypted SSH binary packet carrying msg type typ.
func packet(typ byte, payload int) []byte {
	body := append([]byte{4, typ}, make([]byte, payload+4)...) // padding length 4, type, payload, padding
	b := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	return append(b, body...)
}

func TestNewKeysEnd(t *testing.T) {
	banner := []byte("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\r\n")
	kexinit, ecdh, newkeys := packet(20, 900), packet(30, 40), packet(21, 0)
	stream := bytes.Join([][]byte{banner, kexinit, ecdh, newkeys}, nil)
	tests := []struct {
		name string
		in   []byte
		want int
	}{
		{"full", append(stream, 0xAA, 0xBB), len(stream)},
		{"ends at newkeys", stream, len(stream)},
		{"newkeys incomplete", stream[:len(stream)-1], 0},
		{"only banner", banner, 0},
		{"partial banner", banner[:10], 0},
		{"no newkeys yet", bytes.Join([][]byte{banner, kexinit}, nil), 0},
		{"not ssh: huge length", append(append([]byte{}, banner...), 0xff, 0xff, 0xff, 0xff, 0, 0), -1},
		{"not ssh: no line end", bytes.Repeat([]byte("x"), 9000), -1},
		{"lines before the banner", append([]byte("hello\r\n"), stream...), len(stream) + 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := newKeysEnd(tt.in); got != tt.want {
				t.Errorf("newKeysEnd = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestCorrupterFlipsOneByte feeds the stream in chunks of every size and
// checks exactly one byte changed, at the right offset.
func TestCorrupterFlipsOneByte(t *testing.T) {
	banner := []byte("SSH-2.0-x\r\n")
	pre := bytes.Join([][]byte{banner, packet(20, 300), packet(21, 0)}, nil)
	encrypted := bytes.Repeat([]byte{0x11}, 200)
	stream := append(append([]byte{}, pre...), encrypted...)
	for _, after := range []int64{5, 150} {
		for chunk := 1; chunk <= 64; chunk++ {
			c := &corrupter{after: after}
			out := append([]byte{}, stream...)
			for i := 0; i < len(out); i += chunk {
				c.feed(out[i:min(i+chunk, len(out))])
			}
			if !c.flipped {
				t.Fatalf("after %d, chunk %d: nothing flipped", after, chunk)
			}
			for i := range out {
				want := stream[i]
				if int64(i) == int64(len(pre))+after {
					want ^= 0x55
				}
				if out[i] != want {
					t.Fatalf("after %d, chunk %d: byte %d = %#x, want %#x", after, chunk, i, out[i], want)
				}
			}
		}
	}
}

func TestCorrupterLeavesNonSSHAlone(t *testing.T) {
	in := []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n" + string(bytes.Repeat([]byte{0xff}, 100)))
	c := &corrupter{after: 5}
	out := append([]byte{}, in...)
	c.feed(out)
	if c.flipped || !bytes.Equal(in, out) {
		t.Errorf("corrupted a non-SSH stream")
	}
}
