package main

import (
	"context"
	"errors"
)

// cmdServe runs opsbot as a service (filled in with the WeCom edge).
func cmdServe(ctx context.Context, e env, args []string) error {
	return errors.New("serve: not yet wired")
}

func cmdWeCom(ctx context.Context, e env, args []string) error {
	return errors.New("wecom: not yet wired")
}
