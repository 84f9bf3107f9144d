package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/coder/websocket"
)

// subscribeFrame is the first frame of the smart robot's long connection.
type subscribeFrame struct {
	Cmd     string            `json:"cmd"`
	Headers map[string]string `json:"headers"`
	Body    map[string]string `json:"body"`
}

// ackFrame is WeCom's answer to a command: it echoes headers.req_id.
type ackFrame struct {
	Cmd     string            `json:"cmd"`
	Headers map[string]string `json:"headers"`
	ErrCode *int              `json:"errcode"`
	ErrMsg  string            `json:"errmsg"`
}

// maxFramesBeforeAck bounds how many unrelated frames the check reads
// while waiting for the subscribe ack.
const maxFramesBeforeAck = 5

// Subscribe opens the smart robot's long connection at wsURL, sends
// aibot_subscribe with botID and secret, and returns WeCom's errcode and
// errmsg from the ack; it closes the connection again. It stands alone so
// that the doctor does not depend on the robot client of package bot.
func Subscribe(ctx context.Context, wsURL, botID, secret string) (code int, msg string, err error) {
	c, _, err := websocket.Dial(ctx, wsURL, nil)
	if err != nil {
		return 0, "", fmt.Errorf("dial: %w", err)
	}
	defer c.CloseNow()
	reqID := "doctor-" + randomHex(8)
	frame, _ := json.Marshal(subscribeFrame{Cmd: "aibot_subscribe", Headers: map[string]string{"req_id": reqID},
		Body: map[string]string{"bot_id": botID, "secret": secret}})
	if err := c.Write(ctx, websocket.MessageText, frame); err != nil {
		return 0, "", fmt.Errorf("send subscribe: %w", err)
	}
	for range maxFramesBeforeAck {
		_, data, err := c.Read(ctx)
		if err != nil {
			return 0, "", fmt.Errorf("read ack: %w", err)
		}
		var ack ackFrame
		if json.Unmarshal(data, &ack) != nil || ack.ErrCode == nil {
			continue
		}
		if id := ack.Headers["req_id"]; id != "" && id != reqID {
			continue
		}
		c.Close(websocket.StatusNormalClosure, "doctor done")
		return *ack.ErrCode, ack.ErrMsg, nil
	}
	return 0, "", errors.New("no ack to aibot_subscribe")
}

// checkRobot subscribes once when the smart robot is configured.
func checkRobot(ctx context.Context, env *Env) Result {
	if r, ok := needConfig(env); !ok {
		return r
	}
	w := env.cfg.WeCom
	if !w.BotEnabled() {
		return Result{Status: OK, Summary: "未配置（可选：群聊里 @机器人 报修需要它，见 wecom.bot_id）", Skipped: true}
	}
	code, msg, err := Subscribe(ctx, w.BotWSURL, w.BotID, w.BotSecret)
	switch {
	case err != nil:
		return Result{Status: Fail, Summary: "连不上 " + w.BotWSURL, Detail: err.Error(),
			Fix: "检查本机能否访问 openws.work.weixin.qq.com:443（WebSocket，防火墙或代理需允许 Upgrade）"}
	case code == codeBadBotAccount:
		return Result{Status: Fail, Summary: "订阅被拒（errcode 853000）：bot_id 或 secret 不对",
			Fix: "在管理后台「智能机器人 → 该机器人 → API 模式（长连接）」复制 BotID 和 Secret，填入 wecom.bot_id、wecom.bot_secret"}
	case code != 0:
		return Result{Status: Fail, Summary: fmt.Sprintf("订阅被拒：errcode %d %s", code, msg),
			Fix: fmt.Sprintf("按错误码查原因：https://developer.work.weixin.qq.com/devtool/query?e=%d", code)}
	}
	return Result{Status: OK, Summary: "长连接订阅成功（注意：企业微信每个机器人只保留一条连接，检查时会短暂顶掉正在运行的 opsbot 的连接，它会自动重连）"}
}
