package kv

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is the Store shared by all replicas.
type Redis struct {
	c      *redis.Client
	prefix string
	seq    atomic.Uint64
	// cmds pipelines the plain commands (GET, SET, DEL, SET NX GET) of
	// concurrent callers: under load many share one round trip, which costs a
	// system call on each side, while a lone command goes out at once.
	cmds *Batcher[redis.Cmder, struct{}]
}

// pipelineMax bounds the commands of one round trip; cmdTimeout bounds the
// round trip itself, whatever the callers' contexts.
const (
	pipelineMax = 256
	cmdTimeout  = 5 * time.Second
)

// do runs cmd in the next pipeline and returns its error.
func (r *Redis) do(ctx context.Context, cmd redis.Cmder) error {
	if _, err := r.cmds.Do(ctx, cmd); err != nil {
		return err
	}
	return cmd.Err()
}

// OpenRedis connects to url (redis://host:port/db); keys get prefix so tests
// and deployments can share one server.
func OpenRedis(ctx context.Context, url, prefix string) (*Redis, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	c := redis.NewClient(opt)
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redis %s: %w", opt.Addr, err)
	}
	if v, err := serverVersion(ctx, c); err == nil && v < 7 {
		c.Close()
		return nil, fmt.Errorf("redis %s: version %d; opsbot needs Redis 7 or later (SET NX GET)", opt.Addr, v)
	}
	r := &Redis{c: c, prefix: prefix}
	r.cmds = NewBatcher(pipelineMax, cmdTimeout, func(ctx context.Context, cmds []redis.Cmder) ([]struct{}, error) {
		p := c.Pipeline()
		for _, cmd := range cmds {
			p.Process(ctx, cmd)
		}
		// Each command keeps its own error; Exec's is the first of them.
		p.Exec(ctx)
		return nil, nil
	})
	return r, nil
}

func (r *Redis) k(key string) string { return r.prefix + key }

func wrap(err error) error {
	if err == nil || errors.Is(err, redis.Nil) {
		return nil
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}

// Get implements Store.
func (r *Redis) Get(ctx context.Context, key string) (string, bool, error) {
	cmd := redis.NewStringCmd(ctx, "get", r.k(key))
	if err := r.do(ctx, cmd); errors.Is(err, redis.Nil) {
		return "", false, nil
	} else if err != nil {
		return "", false, wrap(err)
	}
	return cmd.Val(), true, nil
}

// Set implements Store.
func (r *Redis) Set(ctx context.Context, key, value string, ttl time.Duration) error {
	return wrap(r.do(ctx, redis.NewStatusCmd(ctx, setArgs(r.k(key), value, ttl, "")...)))
}

// setArgs builds SET key value [PX ms] [mode] as go-redis would.
func setArgs(key, value string, ttl time.Duration, mode string) []any {
	args := []any{"set", key, value}
	if ttl > 0 {
		args = append(args, "px", ttl.Milliseconds())
	}
	if mode != "" {
		args = append(args, mode)
	}
	return args
}

// Del implements Store.
func (r *Redis) Del(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	args := make([]any, 0, len(keys)+1)
	args = append(args, "del")
	for _, k := range keys {
		args = append(args, r.k(k))
	}
	return wrap(r.do(ctx, redis.NewIntCmd(ctx, args...)))
}

// lockScript takes or extends a lock held by nobody or by the same owner.
var lockScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`)

// unlockScript deletes the lock only for its owner, so an expired holder
// cannot release a lock someone else has taken since.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

// Lock implements Store.
func (r *Redis) Lock(ctx context.Context, key, owner string, ttl time.Duration) (bool, error) {
	n, err := lockScript.Run(ctx, r.c, []string{r.k(key)}, owner, ttl.Milliseconds()).Int()
	if err != nil {
		return false, wrap(err)
	}
	return n == 1, nil
}

// Unlock implements Store.
func (r *Redis) Unlock(ctx context.Context, key, owner string) error {
	return wrap(unlockScript.Run(ctx, r.c, []string{r.k(key)}, owner).Err())
}

// Claim implements Store with SET NX GET (Redis 7).
func (r *Redis) Claim(ctx context.Context, key, value string, ttl time.Duration) (string, error) {
	cmd := redis.NewStatusCmd(ctx, append(setArgs(r.k(key), value, ttl, "nx"), "get")...)
	if err := r.do(ctx, cmd); err != nil {
		return "", wrap(err) // redis.Nil: the key was absent and is now set
	}
	return cmd.Val(), nil
}

// allowScript keeps a sorted set of event times (ms) per window key. It
// drops the times outside each span; when every window has room it adds now
// to all of them, else it returns how many ms until the fullest has room.
// ARGV: now, member, then span and limit for each key.
var allowScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  local span = tonumber(ARGV[1 + 2*i])
  local limit = tonumber(ARGV[2 + 2*i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - span)
  local n = redis.call('ZCARD', key)
  if n >= limit then
    local t = redis.call('ZRANGE', key, n - limit, n - limit, 'WITHSCORES')
    wait = math.max(wait, tonumber(t[2]) + span - now)
  end
end
if wait > 0 then
  return wait
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, tonumber(ARGV[1 + 2*i]))
end
return -1`)

// Allow implements Store with a sliding log in a sorted set per window, all
// windows in one script; the server's clock is not used so that all
// replicas agree on the caller's notion of now.
func (r *Redis) Allow(ctx context.Context, windows ...Window) (bool, time.Duration, error) {
	if len(windows) == 0 {
		return true, 0, nil
	}
	now := time.Now().UnixMilli()
	member := strconv.FormatInt(now, 10) + "-" + strconv.FormatUint(r.seq.Add(1), 10) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	keys := make([]string, len(windows))
	args := []any{now, member}
	for i, w := range windows {
		keys[i] = r.k(w.Key)
		args = append(args, w.Span.Milliseconds(), w.Limit)
	}
	wait, err := allowScript.Run(ctx, r.c, keys, args...).Int64()
	if err != nil {
		return false, 0, wrap(err)
	}
	if wait < 0 {
		return true, 0, nil
	}
	return false, max(time.Duration(wait)*time.Millisecond, time.Millisecond), nil
}

// Ping implements Store.
func (r *Redis) Ping(ctx context.Context) error { return wrap(r.c.Ping(ctx).Err()) }

// Close implements Store.
func (r *Redis) Close() error { return r.c.Close() }

// serverVersion returns the server's major version.
func serverVersion(ctx context.Context, c *redis.Client) (int, error) {
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return 0, err
	}
	return majorVersion(info)
}

// majorVersion reads the major version from the text of INFO server.
func majorVersion(info string) (int, error) {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			major, _, _ := strings.Cut(v, ".")
			return strconv.Atoi(major)
		}
	}
	return 0, errors.New("no redis_version in INFO")
}
