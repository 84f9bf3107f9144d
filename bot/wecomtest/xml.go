package wecomtest

import (
	"fmt"
	"strings"
	"time"
)

// TextXML is the decrypted callback of a text message, as WeCom sends it;
// seal it with bot.Crypto.Seal to post it to a receiver.
func TextXML(from string, agentID int, msgID int64, text string, at time.Time) []byte {
	return fmt.Appendf(nil, `<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>`+
		`<CreateTime>%d</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content>`+
		`<MsgId>%d</MsgId><AgentID>%d</AgentID></xml>`,
		CorpID, cdata(from), at.Unix(), cdata(text), msgID, agentID)
}

// CardEventXML is the decrypted callback of a click on a button_interaction
// template card.
func CardEventXML(from string, agentID int, at time.Time, taskID, eventKey, responseCode string) []byte {
	return fmt.Appendf(nil, `<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>`+
		`<CreateTime>%d</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event>`+
		`<EventKey><![CDATA[%s]]></EventKey><TaskId><![CDATA[%s]]></TaskId><CardType><![CDATA[button_interaction]]></CardType>`+
		`<ResponseCode><![CDATA[%s]]></ResponseCode><AgentID>%d</AgentID></xml>`,
		CorpID, cdata(from), at.Unix(), cdata(eventKey), cdata(taskID), cdata(responseCode), agentID)
}

// cdata splits the one sequence CDATA cannot hold.
func cdata(s string) string {
	return strings.ReplaceAll(s, "]]>", "]]]]><![CDATA[>")
}
