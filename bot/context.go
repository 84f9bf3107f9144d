package bot

import (
	"context"
	"fmt"
)

// Context is one incoming message on its way through the router: what was
// said, which command it matched, and the replies the handler produced.
type Context struct {
	ctx context.Context
	// Msg is the message as received.
	Msg Incoming
	// Text is the message text normalised (full-width folded, spaces trimmed).
	Text string
	// Command is the matched command, nil for free text, cards and events.
	Command *Command
	// Args is what follows the command name, normalised.
	Args    string
	replies []string
	values  map[any]any
}

// NewContext wraps msg for handling; tests and the terminal chat use it too.
func NewContext(ctx context.Context, msg Incoming) *Context {
	return &Context{ctx: ctx, Msg: msg, Text: Normalize(msg.Text)}
}

// Context is the request context (deadline, cancellation).
func (c *Context) Context() context.Context { return c.ctx }

// User is the WeCom userid of the sender.
func (c *Context) User() string { return c.Msg.User }

// Reply adds a reply to the sender; handlers persist replies with their
// changes, so a reply is never sent for a change that did not happen.
func (c *Context) Reply(text string) { c.replies = append(c.replies, text) }

// Replyf adds a formatted reply.
func (c *Context) Replyf(format string, args ...any) { c.Reply(fmt.Sprintf(format, args...)) }

// Replies returns the replies so far.
func (c *Context) Replies() []string { return c.replies }

// TakeReplies returns the replies and forgets them, so that they are
// written exactly once.
func (c *Context) TakeReplies() []string {
	r := c.replies
	c.replies = nil
	return r
}

// Set stores a value for later middleware or the handler.
func (c *Context) Set(key, value any) {
	if c.values == nil {
		c.values = map[any]any{}
	}
	c.values[key] = value
}

// Get returns a value stored with Set.
func (c *Context) Get(key any) any { return c.values[key] }
