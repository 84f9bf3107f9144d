// Package models holds opsbot's domain: tickets and their state machine, the
// working-day calendar and SLA clock, staff and the system catalog, and the
// GORM store that persists them. Nothing here sends a message.
package models

// Priority is a ticket's urgency; it picks the resolution target (tender 4.5.1).
type Priority string

// Priorities, from most to least urgent.
const (
	PriorityHigh   Priority = "high"
	PriorityMedium Priority = "medium"
	PriorityLow    Priority = "low"
)

// Valid reports whether p is one of the three priorities.
func (p Priority) Valid() bool {
	return p == PriorityHigh || p == PriorityMedium || p == PriorityLow
}

// Label is the Chinese name users see.
func (p Priority) Label() string {
	switch p {
	case PriorityHigh:
		return "高"
	case PriorityMedium:
		return "中"
	case PriorityLow:
		return "低"
	}
	return string(p)
}

// Kind is what a ticket is about.
type Kind string

// Kinds of tickets (tender 4.5.4 and 4.2).
const (
	KindFault    Kind = "fault"    // 故障
	KindQuestion Kind = "question" // 咨询
	KindRequest  Kind = "request"  // 需求
	KindPolicy   Kind = "policy"   // 政策接口
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	return k == KindFault || k == KindQuestion || k == KindRequest || k == KindPolicy
}

// Label is the Chinese name users see.
func (k Kind) Label() string {
	switch k {
	case KindFault:
		return "故障"
	case KindQuestion:
		return "咨询"
	case KindRequest:
		return "需求"
	case KindPolicy:
		return "政策接口"
	}
	return string(k)
}
