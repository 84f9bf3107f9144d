package models_test

import (
	"strings"
	"testing"

	"opsbot/models"
)

// TestEveryTransition lists, by hand, every action from every status: where
// it leads, or the refusal a user reads. The table is written out rather
// than derived from the code so that a change to the state machine has to
// be made twice, on purpose.
func TestEveryTransition(t *testing.T) {
	const (
		N = models.StatusNew
		C = models.StatusClaimed
		O = models.StatusOnsite
		P = models.StatusPaused
		R = models.StatusResolved
		X = models.StatusClosed
		Z = models.StatusCancelled
	)
	type row struct {
		act  models.Action
		from models.Status
		to   models.Status // "" means refused
		says string        // a fragment of the refusal
	}
	rows := []row{
		{models.ActClaim, N, C, ""},
		{models.ActClaim, C, "", "已有人接单"},
		{models.ActClaim, O, "", "已有人接单"},
		{models.ActClaim, P, "", "已有人接单"},
		{models.ActClaim, R, "", "已解决，不能接单"},
		{models.ActClaim, X, "", "已关闭，不能接单"},
		{models.ActClaim, Z, "", "已撤销，不能接单"},

		{models.ActTransfer, N, C, ""},
		{models.ActTransfer, C, C, ""},
		{models.ActTransfer, O, C, ""},
		{models.ActTransfer, P, P, ""},
		{models.ActTransfer, R, "", "已解决，不能转派"},
		{models.ActTransfer, X, "", "已关闭，不能转派"},
		{models.ActTransfer, Z, "", "已撤销，不能转派"},

		{models.ActArrive, N, "", "请先接单"},
		{models.ActArrive, C, O, ""},
		{models.ActArrive, O, "", "已登记到场"},
		{models.ActArrive, P, "", "已挂起，不能到场"},
		{models.ActArrive, R, "", "已解决，不能到场"},
		{models.ActArrive, X, "", "已关闭，不能到场"},
		{models.ActArrive, Z, "", "已撤销，不能到场"},

		{models.ActPause, N, "", "还没有人接单，不能挂起"},
		{models.ActPause, C, P, ""},
		{models.ActPause, O, P, ""},
		{models.ActPause, P, "", "已经挂起了"},
		{models.ActPause, R, "", "已解决，不能挂起"},
		{models.ActPause, X, "", "已关闭，不能挂起"},
		{models.ActPause, Z, "", "已撤销，不能挂起"},

		{models.ActResume, N, "", "没有挂起"},
		{models.ActResume, C, "", "没有挂起"},
		{models.ActResume, O, "", "没有挂起"},
		{models.ActResume, P, C, ""},
		{models.ActResume, R, "", "已解决，不能恢复"},
		{models.ActResume, X, "", "已关闭，不能恢复"},
		{models.ActResume, Z, "", "已撤销，不能恢复"},

		{models.ActResolve, N, R, ""},
		{models.ActResolve, C, R, ""},
		{models.ActResolve, O, R, ""},
		{models.ActResolve, P, R, ""},
		{models.ActResolve, R, "", "已解决，不能解决"},
		{models.ActResolve, X, "", "已关闭，不能解决"},
		{models.ActResolve, Z, "", "已撤销，不能解决"},

		{models.ActClose, N, "", "还未解决，不能关闭"},
		{models.ActClose, C, "", "还未解决，不能关闭"},
		{models.ActClose, O, "", "还未解决，不能关闭"},
		{models.ActClose, P, "", "还未解决，不能关闭"},
		{models.ActClose, R, X, ""},
		{models.ActClose, X, "", "已关闭，不能关闭"},
		{models.ActClose, Z, "", "已撤销，不能关闭"},

		{models.ActReopen, N, "", "还未解决，无需重新打开"},
		{models.ActReopen, C, "", "还未解决，无需重新打开"},
		{models.ActReopen, O, "", "还未解决，无需重新打开"},
		{models.ActReopen, P, "", "还未解决，无需重新打开"},
		{models.ActReopen, R, C, ""},
		{models.ActReopen, X, "", "已关闭，不能重新打开"},
		{models.ActReopen, Z, "", "已撤销，不能重新打开"},

		{models.ActCancel, N, Z, ""},
		{models.ActCancel, C, Z, ""},
		{models.ActCancel, O, Z, ""},
		{models.ActCancel, P, Z, ""},
		{models.ActCancel, R, "", "已解决，不能撤销"},
		{models.ActCancel, X, "", "已关闭，不能撤销"},
		{models.ActCancel, Z, "", "已撤销，不能撤销"},
	}
	if len(rows) != len(models.TransitionActions)*len(models.AllStatuses) {
		t.Fatalf("table has %d rows, want every action × status = %d", len(rows), len(models.TransitionActions)*len(models.AllStatuses))
	}
	for _, r := range rows {
		to, err := models.Next(12, r.from, r.act)
		if r.to != "" {
			if err != nil || to != r.to {
				t.Errorf("%s from %s: got %q, %v; want %s", r.act, r.from, to, err, r.to)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s from %s was allowed (→ %s)", r.act, r.from, to)
			continue
		}
		if models.ErrorCode(err) != models.EConflict || !strings.HasPrefix(err.Error(), "工单 #12 ") || !strings.Contains(err.Error(), r.says) {
			t.Errorf("%s from %s: refusal %q (code %s), want it to say %q", r.act, r.from, err, models.ErrorCode(err), r.says)
		}
	}
}

// TestAuthorize covers who may act on whose ticket.
func TestAuthorize(t *testing.T) {
	tk := &models.Ticket{ID: 5, ReporterID: "nurse01", AssigneeID: "zhangsan", Status: models.StatusClaimed}
	free := &models.Ticket{ID: 6, ReporterID: "nurse01", Status: models.StatusNew}
	nurse := models.Actor{UserID: "nurse01", Role: models.RoleReporter}
	other := models.Actor{UserID: "nurse02", Role: models.RoleReporter}
	mine := models.Actor{UserID: "zhangsan", Role: models.RoleEngineer, Level: 2}
	peer := models.Actor{UserID: "lisi", Role: models.RoleEngineer, Level: 3}
	boss := models.Actor{UserID: "zhaoliu", Role: models.RoleSupervisor}
	cases := []struct {
		a   models.Actor
		t   *models.Ticket
		act models.Action
		ok  bool
	}{
		{nurse, tk, models.ActSupplement, true},
		{nurse, tk, models.ActCancel, true},
		{nurse, tk, models.ActClose, true},
		{other, tk, models.ActSupplement, false},
		{other, tk, models.ActHurry, false},
		{nurse, tk, models.ActClaim, false},
		{mine, tk, models.ActResolve, true},
		{mine, tk, models.ActTransfer, true},
		{peer, tk, models.ActResolve, false},
		{peer, tk, models.ActNote, false},
		{peer, free, models.ActClaim, true},
		{peer, free, models.ActTransfer, false},
		{mine, tk, models.ActCancel, false}, // engineers cannot make a ticket vanish
		{mine, tk, models.ActPriority, false},
		{boss, tk, models.ActPriority, true},
		{boss, tk, models.ActCancel, true},
		{boss, free, models.ActMerge, true},
	}
	for _, c := range cases {
		err := models.Authorize(c.a, c.t, c.act)
		if (err == nil) != c.ok {
			t.Errorf("%s %s on #%d: err %v, want ok=%v", c.a.UserID, c.act, c.t.ID, err, c.ok)
		}
		if err != nil && (models.ErrorCode(err) != models.EForbidden || models.ErrorMessage(err) == "") {
			t.Errorf("refusal %v is not a coded Chinese message", err)
		}
	}
}
