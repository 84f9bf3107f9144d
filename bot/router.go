package bot

import (
	"context"
	"slices"
	"sort"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// HandlerFunc handles one message.
type HandlerFunc func(*Context) error

// Middleware wraps a handler (permissions, persistence, logging).
type Middleware func(HandlerFunc) HandlerFunc

// Command is one chat command with what the help shows of it.
type Command struct {
	Name    string
	Aliases []string
	// Args is the usage after the name, e.g. "<单号> <处理结果>".
	Args    string
	Help    string
	Example string
	// Group is opaque to the router; handlers use it to filter the help
	// by the caller's role.
	Group      string
	Handler    HandlerFunc
	Middleware []Middleware
}

// Router sends each message to its handler: a command by its leading word,
// a card click by the button key's prefix, an event by name, anything else
// to the text handler.
type Router struct {
	commands []*Command
	names    []nameEntry // every name and alias, longest first
	cards    map[string]HandlerFunc
	events   map[string]HandlerFunc
	text     HandlerFunc
	other    HandlerFunc
	mw       []Middleware
	onError  func(*Context, error)
}

type nameEntry struct {
	name string
	cmd  *Command
}

// NewRouter returns an empty router.
func NewRouter() *Router {
	return &Router{cards: map[string]HandlerFunc{}, events: map[string]HandlerFunc{}}
}

// Use adds middleware that wraps every handler.
func (r *Router) Use(mw ...Middleware) { r.mw = append(r.mw, mw...) }

// Handle registers a command.
func (r *Router) Handle(cmd Command) {
	c := &cmd
	r.commands = append(r.commands, c)
	for _, n := range append([]string{c.Name}, c.Aliases...) {
		r.names = append(r.names, nameEntry{Normalize(n), c})
	}
	sort.SliceStable(r.names, func(i, j int) bool { return len(r.names[i].name) > len(r.names[j].name) })
}

// Card registers the handler of card clicks whose EventKey starts with prefix.
func (r *Router) Card(prefix string, h HandlerFunc) { r.cards[prefix] = h }

// Event registers the handler of an event (enter_agent, …).
func (r *Router) Event(name string, h HandlerFunc) { r.events[name] = h }

// Text registers the handler of text that matches no command.
func (r *Router) Text(h HandlerFunc) { r.text = h }

// Other registers the handler of everything else: other message types
// (image, voice, …), unknown events and clicks on unknown cards.
func (r *Router) Other(h HandlerFunc) { r.other = h }

// OnError registers what happens with a handler's error.
func (r *Router) OnError(f func(*Context, error)) { r.onError = f }

// Commands lists the registered commands in registration order.
func (r *Router) Commands() []*Command { return r.commands }

// match finds the command text starts with, and the rest as arguments;
// text is already normalised (a Context's Text is).
func (r *Router) match(text string) (*Command, string) {
	for _, n := range r.names {
		if !strings.HasPrefix(text, n.name) {
			continue
		}
		rest := text[len(n.name):]
		if rest == "" {
			return n.cmd, ""
		}
		// A latin command name must end at a word boundary ("help" is not
		// "helpdesk"); Chinese ones may run into their argument ("接单12").
		last := []rune(n.name)
		if isLatin(last[len(last)-1]) && isLatin([]rune(rest)[0]) {
			continue
		}
		return n.cmd, strings.TrimSpace(rest)
	}
	return nil, ""
}

func isLatin(r rune) bool { return r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) }

// Dispatch runs the handler for msg, with the middleware; an error is given
// to OnError and returned, so the caller can retry the message.
func (r *Router) Dispatch(ctx context.Context, msg Incoming) error {
	return r.Serve(NewContext(ctx, msg))
}

// Serve is Dispatch for a Context the caller prepared (values set before
// the middleware runs, such as the transaction the message is handled in).
func (r *Router) Serve(c *Context) error {
	h := r.route(c)
	if h == nil {
		return nil
	}
	err := h(c)
	if err != nil && r.onError != nil {
		r.onError(c, err)
	}
	return err
}

// route picks the handler and wraps it in the middleware.
func (r *Router) route(c *Context) HandlerFunc {
	var h HandlerFunc
	var own []Middleware
	switch {
	case c.Msg.Type == TypeText:
		if cmd, args := r.match(c.Text); cmd != nil {
			c.Command, c.Args = cmd, args
			h, own = cmd.Handler, cmd.Middleware
		} else {
			h = r.text
		}
	case c.Msg.Type == TypeEvent && c.Msg.Event == EventTemplateCard:
		h = r.cardHandler(c.Msg.EventKey)
	case c.Msg.Type == TypeEvent:
		h = r.events[c.Msg.Event]
	}
	if h == nil {
		// Everything gets an answer or at least a mark that it was seen,
		// so no stored message waits forever.
		h = r.other
	}
	if h == nil {
		return nil
	}
	for i := len(own) - 1; i >= 0; i-- {
		h = own[i](h)
	}
	for i := len(r.mw) - 1; i >= 0; i-- {
		h = r.mw[i](h)
	}
	return h
}

func (r *Router) cardHandler(key string) HandlerFunc {
	best := ""
	for p := range r.cards {
		if strings.HasPrefix(key, p) && len(p) > len(best) {
			best = p
		}
	}
	if best == "" {
		return nil
	}
	return r.cards[best]
}

// Suggest returns up to two command names nearest to the first word of
// text ("借单 3" → 接单, 催办), or nil when none is near. A bare two-letter
// word must come with a number to count, so that "好的" is not taken for
// "我的"; a command's own name beats an alias at the same distance.
func (r *Router) Suggest(text string) []string {
	norm := Normalize(text)
	word := []rune(norm)
	hasNumber := false
	for i, c := range word {
		if c == ' ' || c == '#' || unicode.IsDigit(c) {
			hasNumber = strings.IndexFunc(string(word[i:]), unicode.IsDigit) >= 0
			word = word[:i]
			break
		}
	}
	if len(word) == 0 || (len(word) <= 2 && !hasNumber) {
		return nil
	}
	type cand struct {
		name  string
		dist  int
		alias bool
	}
	var cands []cand
	for _, n := range r.names {
		name := []rune(n.name)
		limit := 1
		if len(name) > 3 {
			limit = 2
		}
		if d := distance(word, name); d <= limit && d < len(name) {
			cands = append(cands, cand{n.cmd.Name, d, n.name != Normalize(n.cmd.Name)})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].dist != cands[j].dist {
			return cands[i].dist < cands[j].dist
		}
		return !cands[i].alias && cands[j].alias
	})
	var out []string
	for _, c := range cands {
		if c.dist == cands[0].dist && !slices.Contains(out, c.name) && len(out) < 2 {
			out = append(out, c.name)
		}
	}
	return out
}

// distance is the Levenshtein distance between two rune strings.
func distance(a, b []rune) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Normalize folds full-width letters, digits and signs to ASCII (NFKC),
// turns every run of white space into one space and trims it, so that
// "接单　＃１２" reads "接单 #12".
func Normalize(s string) string {
	s = norm.NFKC.String(s)
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
}
