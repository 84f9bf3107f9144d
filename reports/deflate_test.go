package reports

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/flate"
)

// The blocks compressed apart and joined read back as the input, whatever
// its size against the block: empty, under one block, exactly one, and
// several with a partial last one; text and random bytes.
func TestParallelDeflateRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 3*deflateBlock+777)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	var text bytes.Buffer
	for i := 0; text.Len() < 2*deflateBlock+5; i++ {
		fmt.Fprintf(&text, `<row r="%d"><c r="A%d"><v>%d</v></c><c r="B%d" t="inlineStr"><is><t>门急诊挂号</t></is></c></row>`, i, i, i*7, i)
	}
	cases := map[string][]byte{
		"empty": nil, "small": []byte("工单明细"), "one block": random[:deflateBlock],
		"random": random, "text": text.Bytes(),
	}
	for name, in := range cases {
		var z bytes.Buffer
		w := newParallelDeflate(&z, flate.BestSpeed)
		// Written in uneven pieces, as a zip writer hands them over.
		for rest := in; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(300_000))
			if _, err := w.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if err := w.Close(); err != nil {
			t.Fatalf("%s: close: %v", name, err)
		}
		got, err := io.ReadAll(flate.NewReader(&z))
		if err != nil {
			t.Fatalf("%s: read back: %v", name, err)
		}
		if !bytes.Equal(got, in) {
			t.Errorf("%s: read back %d bytes, wrote %d (or different ones)", name, len(got), len(in))
		}
		if name == "text" && z.Len() > len(in)/4 {
			t.Errorf("text: compressed to %d of %d bytes; the blocks are not compressing", z.Len(), len(in))
		}
	}
}

type failingWriter struct{ n int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.n++; f.n > 1 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

// A failed write of the output is reported by Close, after every block.
func TestParallelDeflateWriteError(t *testing.T) {
	w := newParallelDeflate(&failingWriter{}, flate.BestSpeed)
	block := bytes.Repeat([]byte("x"), 3*deflateBlock)
	if _, err := w.Write(block); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err == nil || err.Error() != "disk full" {
		t.Errorf("Close = %v, want the output's error", err)
	}
}
