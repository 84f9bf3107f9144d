package bot

import "time"

// TEMPORARY until the wecom branch lands.
type Incoming struct {
	Key, User, Type, Text, Event, EventKey, TaskID, CardType, ResponseCode, MsgID string
	AgentID                                                                   string
	CreateTime                                                                time.Time
	Selected                                                                  []string
}
