package models

import (
	"slices"
	"time"
)

// Status is where a ticket stands in its life.
type Status string

// Statuses, exactly as stored and shown in JSON.
const (
	StatusNew       Status = "new"
	StatusClaimed   Status = "claimed"
	StatusOnsite    Status = "onsite"
	StatusPaused    Status = "paused"
	StatusResolved  Status = "resolved"
	StatusClosed    Status = "closed"
	StatusCancelled Status = "cancelled"
)

// AllStatuses lists every status, in life order.
var AllStatuses = []Status{StatusNew, StatusClaimed, StatusOnsite, StatusPaused, StatusResolved, StatusClosed, StatusCancelled}

// OpenStatuses are the statuses in which someone still has work to do.
var OpenStatuses = []Status{StatusNew, StatusClaimed, StatusOnsite, StatusPaused}

// Open reports whether work on the ticket is still outstanding.
func (s Status) Open() bool { return slices.Contains(OpenStatuses, s) }

// Label is the Chinese name users see.
func (s Status) Label() string {
	switch s {
	case StatusNew:
		return "待接单"
	case StatusClaimed:
		return "处理中"
	case StatusOnsite:
		return "已到场"
	case StatusPaused:
		return "已挂起"
	case StatusResolved:
		return "已解决待确认"
	case StatusClosed:
		return "已关闭"
	case StatusCancelled:
		return "已撤销"
	}
	return string(s)
}

// Source says where a ticket came from.
type Source string

// Sources of tickets.
const (
	SourceWeCom      Source = "wecom"
	SourceChat       Source = "chat"
	SourceAlert      Source = "alert"
	SourceInspection Source = "inspection"
	SourceImport     Source = "import"
)

// Ticket is one fault report, question or request, shown to people as #ID.
type Ticket struct {
	ID          int64    `gorm:"primaryKey"`
	Kind        Kind     `gorm:"size:16;not null"`
	System      string   `gorm:"column:system_code;size:32"`
	Priority    Priority `gorm:"size:8;not null"`
	Status      Status   `gorm:"size:16;not null"`
	Title       string   `gorm:"size:200;not null"`
	Description string
	// Reporter and where to find them.
	ReporterID   string `gorm:"size:64;not null"`
	ReporterName string `gorm:"size:64"`
	Department   string `gorm:"size:64"`
	Location     string `gorm:"size:128"`
	Phone        string `gorm:"size:32"`
	AssigneeID   string `gorm:"size:64"`
	Source       Source `gorm:"size:16;not null"`
	// SourceKey is the inbox key of the message that created the ticket; a
	// unique index makes a re-processed message unable to create a second one.
	SourceKey *string `gorm:"size:200"`

	CreatedAt  time.Time
	UpdatedAt  time.Time
	ClaimedAt  *time.Time
	OnsiteAt   *time.Time
	ResolvedAt *time.Time
	ClosedAt   *time.Time

	// Deadlines; DueOnsite is nil when no on-site visit is owed.
	DueResponse   time.Time
	DueOnsite     *time.Time
	DueResolution time.Time
	// PausedBusiness is the business time the resolution clock stood still
	// (挂起, and time spent resolved before a reopen); PausedAt is when the
	// current stop began.
	PausedBusiness time.Duration
	PausedAt       *time.Time

	Major    bool
	ParentID *int64
	// Resolution is what the engineer did (解决 text); PauseReason the
	// reason of the current pause; BreachReason why a deadline was missed.
	Resolution   string
	PauseReason  string `gorm:"size:200"`
	BreachReason string
	// Confirmed is true when the reporter confirmed the fix, false when the
	// ticket closed on its own (auto-close) or was closed otherwise.
	Confirmed bool

	// Remind* are bitmasks of the reminder levels sent per clock, and
	// NextCheckAt the next instant a level or the auto-close falls due. The
	// sweep reads only tickets whose NextCheckAt has come, so its cost grows
	// with the tickets due, not the tickets stored.
	RemindResponse   int
	RemindOnsite     int
	RemindResolution int
	NextCheckAt      *time.Time
}

// TicketEvent records one change of a ticket. Events are written in the
// transaction of the change and never updated or deleted.
type TicketEvent struct {
	ID       int64     `gorm:"primaryKey"`
	TicketID int64     `gorm:"not null;index"`
	At       time.Time `gorm:"not null"`
	Actor    string    `gorm:"size:64;not null"`
	Action   Action    `gorm:"size:24;not null"`
	From     Status    `gorm:"column:from_status;size:16"`
	To       Status    `gorm:"column:to_status;size:16"`
	Note     string
}
