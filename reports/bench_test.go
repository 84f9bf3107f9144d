package reports_test

import (
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"opsbot/reports"
)

// BenchmarkAnnualXLSX500k writes an annual report with a year of 500,000
// tickets to a file, as the report command does, and reports the peak heap
// in use, the memory taken from the OS and the CPU time spent (the target
// is ≤ 10 s and ≤ 300 MB). Run:
//
//	go test ./reports -run '^$' -bench AnnualXLSX500k -benchtime 1x
func BenchmarkAnnualXLSX500k(b *testing.B) { benchXLSX(b, annualReport(500_000)) }

// BenchmarkMonthlyXLSX42k is a month of that year: 42,000 tickets.
func BenchmarkMonthlyXLSX42k(b *testing.B) { benchXLSX(b, monthlyReport(42_000)) }

func benchXLSX(b *testing.B, r *reports.Report) {
	dir := b.TempDir()
	for b.Loop() {
		path := filepath.Join(dir, "report.xlsx")
		out, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		peak, stop := sampleHeap()
		cpu0 := cpuTime()
		start := time.Now()
		if err := reports.WriteXLSX(out, r); err != nil {
			b.Fatal(err)
		}
		if err := out.Close(); err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start)
		cpu := cpuTime() - cpu0
		stop()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		st, _ := os.Stat(path)
		b.ReportMetric(elapsed.Seconds(), "s/report")
		b.ReportMetric(cpu.Seconds(), "cpu-s/report")
		b.ReportMetric(float64(*peak)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(ms.Sys)/(1<<20), "sys-MiB")
		b.ReportMetric(float64(st.Size())/(1<<20), "file-MiB")
	}
}

// cpuTime is the process's user and system CPU time: on a shared machine
// it says more about the report's cost than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sampleHeap records the largest HeapInuse seen until stop is called.
func sampleHeap() (peak *uint64, stop func()) {
	peak = new(uint64)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			*peak = max(*peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return peak, func() { close(done); wg.Wait() }
}
