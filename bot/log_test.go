package bot

import (
	"io"
	"log/slog"
)

// newTestLogger logs at debug level, so tests see everything the receiver
// and client might write.
func newTestLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
