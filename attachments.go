package main

import (
	"context"

	"opsbot/bucket"
	"opsbot/handlers"
	"opsbot/models"
)

// openAttachments connects the attachment bucket when one is configured
// (the database keeps attachments otherwise), hands it to the handlers and
// the retention job, and loads the learned aliases into the catalog.
func (a *app) openAttachments(ctx context.Context) error {
	if a.cfg.Attachments.S3.Enabled() {
		b, err := bucket.New(a.cfg.Attachments.S3)
		if err != nil {
			return err
		}
		a.bucket = b
		a.handlers.SetMedia(nil, b)
		a.jobs.Objects = b
	}
	if err := a.handlers.RefreshLearned(ctx); err != nil {
		a.log.Warn("cannot load the learned aliases", "err", err)
	}
	return nil
}

// readFile reads a stored file with its bytes, from the bucket when they
// live there: what the outbox sends as a file message.
func (a *app) readFile(ctx context.Context, id int64) (*models.File, error) {
	f, err := a.store.File(ctx, id)
	if err != nil || f.StoreKey == "" || len(f.Data) > 0 || a.bucket == nil {
		return f, err
	}
	f.Data, err = a.bucket.Get(ctx, f.StoreKey, f.Size+1)
	return f, err
}

// mediaBucket is the bucket as the handlers take it (nil, not a typed nil,
// when the database keeps attachments).
func (a *app) mediaBucket() handlers.Bucket {
	if a.bucket == nil {
		return nil
	}
	return a.bucket
}
