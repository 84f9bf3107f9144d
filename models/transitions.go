package models

import "fmt"

// Action is what happened to a ticket; every event carries one.
type Action string

// Actions that move a ticket between statuses.
const (
	ActCreate   Action = "create"
	ActClaim    Action = "claim"
	ActTransfer Action = "transfer"
	ActArrive   Action = "arrive"
	ActPause    Action = "pause"
	ActResume   Action = "resume"
	ActResolve  Action = "resolve"
	ActClose    Action = "close"
	ActReopen   Action = "reopen"
	ActCancel   Action = "cancel"
)

// Actions that record something without moving the ticket.
const (
	ActNote         Action = "note"          // 备注 by an engineer
	ActSupplement   Action = "supplement"    // 补充 by the reporter
	ActHurry        Action = "hurry"         // 催办
	ActPriority     Action = "priority"      // priority changed
	ActMajor        Action = "major"         // marked a major incident
	ActMerge        Action = "merge"         // linked to a parent incident
	ActBreachReason Action = "breach_reason" // 超时原因
	ActRemind       Action = "remind"        // a reminder or escalation went out
	ActRate         Action = "rate"          // the reporter rated the service
	ActFollowup     Action = "followup"      // 回访 of a rating by a supervisor
)

// Label is the Chinese verb users see in timelines and refusals.
func (a Action) Label() string {
	if l, ok := actionLabels[a]; ok {
		return l
	}
	return string(a)
}

var actionLabels = map[Action]string{
	ActCreate: "报修", ActClaim: "接单", ActTransfer: "转派", ActArrive: "到场",
	ActPause: "挂起", ActResume: "恢复", ActResolve: "解决", ActClose: "关闭",
	ActReopen: "重新打开", ActCancel: "撤销", ActNote: "备注", ActSupplement: "补充",
	ActHurry: "催办", ActPriority: "调整优先级", ActMajor: "标记重大事件", ActMerge: "合并",
	ActBreachReason: "填写超时原因", ActRemind: "提醒", ActRate: "评价", ActFollowup: "回访",
}

// transitions is the whole state machine: for each action, the statuses it
// may start from and where each one leads. Anything not listed is refused.
var transitions = map[Action]map[Status]Status{
	ActClaim: {StatusNew: StatusClaimed},
	// A hand-over keeps a pause: the new engineer still waits on the same party.
	ActTransfer: {StatusNew: StatusClaimed, StatusClaimed: StatusClaimed, StatusOnsite: StatusClaimed, StatusPaused: StatusPaused},
	ActArrive:   {StatusClaimed: StatusOnsite},
	ActPause:    {StatusClaimed: StatusPaused, StatusOnsite: StatusPaused},
	ActResume:   {StatusPaused: StatusClaimed},
	// A question answered at once may be resolved without a separate claim.
	ActResolve: {StatusNew: StatusResolved, StatusClaimed: StatusResolved, StatusOnsite: StatusResolved, StatusPaused: StatusResolved},
	ActClose:   {StatusResolved: StatusClosed},
	ActReopen:  {StatusResolved: StatusClaimed},
	ActCancel:  {StatusNew: StatusCancelled, StatusClaimed: StatusCancelled, StatusOnsite: StatusCancelled, StatusPaused: StatusCancelled},
}

// TransitionActions lists the actions that change a ticket's status.
var TransitionActions = []Action{ActClaim, ActTransfer, ActArrive, ActPause, ActResume, ActResolve, ActClose, ActReopen, ActCancel}

// statusPhrases describe a status inside a refusal: "工单 #12 已关闭，不能转派".
var statusPhrases = map[Status]string{
	StatusNew:       "还没有人接单",
	StatusClaimed:   "正在处理中",
	StatusOnsite:    "工程师已到场处理",
	StatusPaused:    "已挂起",
	StatusResolved:  "已解决",
	StatusClosed:    "已关闭",
	StatusCancelled: "已撤销",
}

// refusals word the pairs where the generic sentence would read badly.
var refusals = map[Action]map[Status]string{
	ActClaim:  {StatusClaimed: "工单 #%d 已有人接单", StatusOnsite: "工单 #%d 已有人接单", StatusPaused: "工单 #%d 已有人接单（已挂起）"},
	ActResume: {StatusClaimed: "工单 #%d 没有挂起，无需恢复", StatusOnsite: "工单 #%d 没有挂起，无需恢复", StatusNew: "工单 #%d 没有挂起，无需恢复"},
	ActPause:  {StatusPaused: "工单 #%d 已经挂起了"},
	ActArrive: {StatusOnsite: "工单 #%d 已登记到场", StatusNew: "工单 #%d 还没有人接单，请先接单"},
	ActReopen: {StatusNew: "工单 #%d 还未解决，无需重新打开", StatusClaimed: "工单 #%d 还未解决，无需重新打开", StatusOnsite: "工单 #%d 还未解决，无需重新打开", StatusPaused: "工单 #%d 还未解决，无需重新打开"},
	ActClose:  {StatusNew: "工单 #%d 还未解决，不能关闭", StatusClaimed: "工单 #%d 还未解决，不能关闭", StatusOnsite: "工单 #%d 还未解决，不能关闭", StatusPaused: "工单 #%d 还未解决，不能关闭"},
}

// Next returns the status a ticket moves to when act is done in status
// from, or a coded Chinese refusal naming the ticket.
func Next(id int64, from Status, act Action) (Status, error) {
	moves, ok := transitions[act]
	if !ok {
		return "", fmt.Errorf("models: %q is not a transition", act)
	}
	if to, ok := moves[from]; ok {
		return to, nil
	}
	if f, ok := refusals[act][from]; ok {
		return "", Errorf(EConflict, f, id)
	}
	return "", Errorf(EConflict, "工单 #%d %s，不能%s", id, statusPhrases[from], act.Label())
}
