package bot

import "context"

// Match finds the command text starts with, and the rest as arguments, as
// the router does for an incoming message.
func (r *Router) Match(text string) (*Command, string) {
	return r.match(Normalize(text))
}

// NewQueue starts workers, each holding at most limit waiting messages,
// handling one message at a time.
func NewQueue(ctx context.Context, workers, limit int, handle func(context.Context, Incoming)) *Queue {
	return NewBatchQueue(ctx, workers, limit, 1, func(ctx context.Context, msgs []Incoming) {
		for _, m := range msgs {
			handle(ctx, m)
		}
	})
}
