package reports

import (
	"bytes"
	"io"
	"runtime"
	"sync"

	"github.com/klauspost/compress/flate"
)

// deflateBlock is how much input one worker compresses at a time.
const deflateBlock = 1 << 20

// parallelDeflate is a raw deflate writer that compresses blocks of its
// input on all cores, as pigz does. Each block is compressed on its own
// and ends with a sync flush, which leaves the stream on a byte boundary
// without ending it, so the compressed blocks joined in order and closed
// by an empty final block are one valid deflate stream. Packing a year's
// ticket sheet (375 MB of XML) was the last second and a half of the
// annual report, on one core while the other waited.
type parallelDeflate struct {
	out   io.Writer
	level int
	buf   []byte
	// pending holds the results of blocks in flight, in input order.
	pending chan chan []byte
	done    chan error
	// writers are reused: a compressor's state is a megabyte, and a
	// fresh one per block was a third of a gigabyte of garbage a year.
	writers sync.Pool
}

func newParallelDeflate(out io.Writer, level int) *parallelDeflate {
	workers := max(runtime.GOMAXPROCS(0), 1)
	d := &parallelDeflate{out: out, level: level, pending: make(chan chan []byte, workers), done: make(chan error, 1)}
	go d.drain()
	return d
}

// drain writes the compressed blocks in order as they are ready; after
// the first failed write it only empties the queue.
func (d *parallelDeflate) drain() {
	var err error
	for res := range d.pending {
		b := <-res
		if err == nil {
			_, err = d.out.Write(b)
		}
	}
	d.done <- err
}

func (d *parallelDeflate) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if d.buf == nil {
			d.buf = make([]byte, 0, deflateBlock)
		}
		k := min(len(p), deflateBlock-len(d.buf))
		d.buf = append(d.buf, p[:k]...)
		p = p[k:]
		if len(d.buf) == deflateBlock {
			d.start(d.buf, false)
			d.buf = nil
		}
	}
	return n, nil
}

// start compresses block on a goroutine of its own; the pending queue's
// capacity bounds how many run at once.
func (d *parallelDeflate) start(block []byte, final bool) {
	res := make(chan []byte, 1)
	d.pending <- res
	go func() {
		var out bytes.Buffer
		out.Grow(len(block)/4 + 64)
		w, _ := d.writers.Get().(*flate.Writer)
		if w == nil {
			var err error
			if w, err = flate.NewWriter(&out, d.level); err != nil {
				panic(err) // only for a level out of range, fixed in code
			}
		} else {
			w.Reset(&out)
		}
		_, _ = w.Write(block) // writes to a bytes.Buffer do not fail
		if final {
			_ = w.Close()
		} else {
			_ = w.Flush()
		}
		d.writers.Put(w)
		res <- out.Bytes()
	}()
}

// Close compresses what is left as the final block and waits for every
// block to be written.
func (d *parallelDeflate) Close() error {
	d.start(d.buf, true)
	d.buf = nil
	close(d.pending)
	return <-d.done
}
