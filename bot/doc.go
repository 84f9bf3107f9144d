// Package bot is the WeCom edge: callback crypto, parsing, dedupe, the router
// and its Context, the outbound client (tokens, rate limits, retries); it
// knows nothing of tickets.
package bot
