package configs

import (
	"fmt"
	"strings"
	"time"
)

// Dispatch modes: how a new ticket reaches an engineer in business hours.
// Out of business hours it goes to the on-call engineers whatever the mode.
const (
	// DispatchAnnounce sends a card with a 接单 button to the engineers
	// covering the system (all engineers when none does) and to the ops
	// group; the first click gets the ticket.
	DispatchAnnounce = "announce"
	// DispatchAssign gives the ticket at once to the least-loaded available
	// engineer covering the system whose level is high enough.
	DispatchAssign = "assign"
)

// Dispatch decides how new tickets are dispatched.
type Dispatch struct {
	// Mode is announce or assign.
	Mode string `yaml:"mode"`
	// Systems overrides Mode for a system code, e.g. {HIS: assign}.
	Systems map[string]string `yaml:"systems"`
	// Hours overrides Mode within times of day, e.g. the lunch break.
	Hours []DispatchHours `yaml:"hours"`
	// MinLevel is the least engineer level assign picks, by priority.
	MinLevel LevelByPriority `yaml:"min_level"`
}

// DispatchHours is a mode for a time-of-day window ("12:00"-"14:00").
type DispatchHours struct {
	From string `yaml:"from"`
	To   string `yaml:"to"`
	Mode string `yaml:"mode"`
}

// LevelByPriority is an engineer level for each ticket priority.
type LevelByPriority struct {
	High   int `yaml:"high"`
	Medium int `yaml:"medium"`
	Low    int `yaml:"low"`
}

// For returns the level for a priority (high, medium, low).
func (l LevelByPriority) For(priority string) int {
	switch priority {
	case "high":
		return l.High
	case "low":
		return l.Low
	}
	return l.Medium
}

// ModeFor is the mode for a ticket of system at local time t: a system's
// own mode wins over a time-of-day window, which wins over Mode.
func (d Dispatch) ModeFor(system string, t time.Time) string {
	if m, ok := d.Systems[system]; ok && system != "" {
		return m
	}
	minute := t.Hour()*60 + t.Minute()
	for _, h := range d.Hours {
		from, _ := clockMinute(h.From)
		to, _ := clockMinute(h.To)
		if minute >= from && minute < to {
			return h.Mode
		}
	}
	if d.Mode == "" {
		return DispatchAnnounce
	}
	return d.Mode
}

func clockMinute(s string) (int, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, err
	}
	return t.Hour()*60 + t.Minute(), nil
}

// Validate names a bad dispatch key.
func (d Dispatch) Validate() error {
	mode := func(key, m string) error {
		if m != DispatchAnnounce && m != DispatchAssign {
			return fmt.Errorf("%s: must be announce or assign, got %q", key, m)
		}
		return nil
	}
	if err := mode("dispatch.mode", d.Mode); err != nil {
		return err
	}
	for code, m := range d.Systems {
		if err := mode("dispatch.systems."+code, m); err != nil {
			return err
		}
	}
	for i, h := range d.Hours {
		from, err1 := clockMinute(h.From)
		to, err2 := clockMinute(h.To)
		if err1 != nil || err2 != nil || from >= to {
			return fmt.Errorf("dispatch.hours[%d]: from and to are HH:MM with from before to, got %q-%q", i, h.From, h.To)
		}
		if err := mode(fmt.Sprintf("dispatch.hours[%d].mode", i), h.Mode); err != nil {
			return err
		}
	}
	for key, v := range map[string]int{"high": d.MinLevel.High, "medium": d.MinLevel.Medium, "low": d.MinLevel.Low} {
		if v < 1 || v > 9 {
			return fmt.Errorf("dispatch.min_level.%s: must be an engineer level from 1, got %d", key, v)
		}
	}
	return nil
}

// Attachments tunes the screenshots and files users send.
type Attachments struct {
	// MaxBytes refuses a larger file (WeCom temporary media go up to 20 MB).
	MaxBytes int64 `yaml:"max_bytes"`
	// Keep is how long an attachment stays once its ticket is closed or
	// cancelled: screenshots may show patients (个人信息保护法).
	Keep Duration `yaml:"keep"`
	// S3 keeps the bytes in an S3-compatible bucket instead of the
	// database when Endpoint is set.
	S3 S3 `yaml:"s3"`
}

// S3 is an S3-compatible bucket (MinIO, a cloud object store).
type S3 struct {
	// Endpoint is host:port, without a scheme.
	Endpoint  string `yaml:"endpoint"`
	Bucket    string `yaml:"bucket"`
	Region    string `yaml:"region"`
	AccessKey string `yaml:"access_key"`
	SecretKey string `yaml:"secret_key"`
	// Insecure talks plain HTTP (a bucket on the hospital's own network).
	Insecure bool `yaml:"insecure"`
}

// Enabled reports whether a bucket is configured.
func (s S3) Enabled() bool { return s.Endpoint != "" }

// Validate names a bad attachments key.
func (a Attachments) Validate() error {
	if a.MaxBytes < 1024 || a.MaxBytes > 20<<20 {
		return fmt.Errorf("attachments.max_bytes: must be between 1024 and 20971520 (WeCom's limit), got %d", a.MaxBytes)
	}
	if a.Keep.D() < 24*time.Hour {
		return fmt.Errorf("attachments.keep: must be at least 24h, got %s", a.Keep)
	}
	if a.S3.Enabled() {
		switch {
		case strings.Contains(a.S3.Endpoint, "://"):
			return fmt.Errorf("attachments.s3.endpoint: host:port without a scheme, got %q", a.S3.Endpoint)
		case a.S3.Bucket == "":
			return fmt.Errorf("attachments.s3.bucket: required with attachments.s3.endpoint")
		case a.S3.AccessKey == "" || a.S3.SecretKey == "":
			return fmt.Errorf("attachments.s3: access_key and secret_key (OPSBOT_S3_ACCESS_KEY, OPSBOT_S3_SECRET_KEY) are required with an endpoint")
		}
	}
	return nil
}
