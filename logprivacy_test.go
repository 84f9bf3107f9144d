package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"opsbot/bot/wecomtest"
)

// TestInfoLogsCarryNoPatientData runs a whole conversation through a
// served opsbot logging at info level (report with a phone and an ID-card
// number, intake questions, claim, resolve, confirmation, rating and a
// comment) and checks that its log never carries what people typed, a
// phone number or an ID-card number (个人信息保护法: ticket text may name
// patients; the ticket is the record, logs are not).
func TestInfoLogsCarryNoPatientData(t *testing.T) {
	fake := wecomtest.New()
	defer fake.Close()
	for _, u := range []string{"nurse01", "zhangsan", "zhaoliu"} {
		fake.AddUser(u, u)
	}
	env := testEnv(t, fake)
	env["OPSBOT_LOG_LEVEL"] = "info"
	s := startServe(t, env, fake)

	lines := []struct {
		user, text string
	}{
		{"nurse01", "病人张建国身份证110101199003071234挂号时报错，回电13912345678"},
		{"nurse01", "挂号"},
		{"nurse01", "门诊一楼"},
		{"zhangsan", "接单 1"},
		{"zhangsan", "解决 1 已为患者张建国重新建档"},
		{"nurse01", "确认 1"},
		{"nurse01", "评价 1 不满意 等太久了"},
	}
	var id int64 = 5000
	for _, l := range lines {
		id++
		if code := s.post(wecomtest.TextXML(l.user, wecomtest.AgentID, id, l.text, time.Now())); code != 200 {
			t.Fatalf("%q answered %d", l.text, code)
		}
		time.Sleep(150 * time.Millisecond)
	}
	waitFor(t, "the rating to reach the supervisor", func() bool {
		for _, m := range s.messagesTo("zhaoliu") {
			if strings.Contains(m.Text, "低分评价") {
				return true
			}
		}
		return false
	})
	s.stop()
	logs := s.logs.String()
	if !strings.Contains(logs, `"level":"INFO"`) {
		t.Fatalf("no info log at all, the test proves nothing:\n%s", logs)
	}
	for _, secret := range []string{"张建国", "110101199003071234", "13912345678", "挂号时报错", "重新建档", "等太久了", "门诊一楼"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log carries %q", secret)
		}
	}
	phone := regexp.MustCompile(`\b1[3-9]\d{9}\b`)
	idCard := regexp.MustCompile(`\b\d{17}[\dXx]\b`)
	if m := phone.FindString(logs); m != "" {
		t.Errorf("the log carries a phone number %s", m)
	}
	if m := idCard.FindString(logs); m != "" {
		t.Errorf("the log carries an ID-card number %s", m)
	}
}
