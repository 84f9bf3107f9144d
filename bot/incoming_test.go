package bot

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestParseIncoming(t *testing.T) {
	for _, tc := range []struct {
		name string
		xml  string
		want Incoming
	}{
		{
			name: "text",
			xml: `<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[nurse01]]></FromUserName>
<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[报修 HIS 登录不了]]></Content>
<MsgId>7291234567890123456</MsgId><AgentID>1000002</AgentID></xml>`,
			want: Incoming{Key: "msg:7291234567890123456", User: "nurse01", AgentID: 1000002, CreateTime: time.Unix(1700000000, 0),
				Type: "text", Text: "报修 HIS 登录不了", MsgID: "7291234567890123456"},
		},
		{
			name: "image",
			xml: `<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[nurse01]]></FromUserName>
<CreateTime>1700000050</CreateTime><MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://p.example/1.jpg]]></PicUrl>
<MediaId><![CDATA[MEDIA1]]></MediaId><MsgId>7291234567890123457</MsgId><AgentID>1000002</AgentID></xml>`,
			want: Incoming{Key: "msg:7291234567890123457", User: "nurse01", AgentID: 1000002, CreateTime: time.Unix(1700000050, 0),
				Type: "image", MsgID: "7291234567890123457", MediaID: "MEDIA1", PicURL: "http://p.example/1.jpg"},
		},
		{
			name: "voice",
			xml: `<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[nurse01]]></FromUserName>
<CreateTime>1700000060</CreateTime><MsgType><![CDATA[voice]]></MsgType><MediaId><![CDATA[V1]]></MediaId><Format><![CDATA[amr]]></Format>
<MsgId>7291234567890123458</MsgId><AgentID>1000002</AgentID></xml>`,
			want: Incoming{Key: "msg:7291234567890123458", User: "nurse01", AgentID: 1000002, CreateTime: time.Unix(1700000060, 0),
				Type: "voice", MsgID: "7291234567890123458", MediaID: "V1", Format: "amr"},
		},
		{
			name: "card click",
			xml: `<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[doc7]]></FromUserName>
<CreateTime>1700000100</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event>
<EventKey><![CDATA[rate:5]]></EventKey><TaskId><![CDATA[survey-128]]></TaskId><CardType><![CDATA[button_interaction]]></CardType>
<ResponseCode><![CDATA[RC123]]></ResponseCode><AgentID>1000002</AgentID>
<SelectedItems><SelectedItem><QuestionKey><![CDATA[q1]]></QuestionKey><OptionIds><OptionId><![CDATA[a]]></OptionId><OptionId><![CDATA[b]]></OptionId></OptionIds></SelectedItem>
<SelectedItem><QuestionKey><![CDATA[q2]]></QuestionKey><OptionIds><OptionId><![CDATA[c]]></OptionId></OptionIds></SelectedItem></SelectedItems></xml>`,
			want: Incoming{Key: "evt:doc7:1700000100:template_card_event:rate:5:survey-128", User: "doc7", AgentID: 1000002,
				CreateTime: time.Unix(1700000100, 0), Type: "event", Event: "template_card_event", EventKey: "rate:5",
				TaskID: "survey-128", CardType: "button_interaction", ResponseCode: "RC123", Selected: []string{"a", "b", "c"}},
		},
		{
			name: "enter agent",
			xml: `<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[clerk3]]></FromUserName><CreateTime>1700000200</CreateTime>
<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[enter_agent]]></Event><EventKey><![CDATA[]]></EventKey><AgentID>1000002</AgentID></xml>`,
			want: Incoming{Key: "evt:clerk3:1700000200:enter_agent::", User: "clerk3", AgentID: 1000002,
				CreateTime: time.Unix(1700000200, 0), Type: "event", Event: "enter_agent"},
		},
		{
			name: "image is kept with its raw type",
			xml: `<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[nurse01]]></FromUserName><CreateTime>1700000300</CreateTime>
<MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://x]]></PicUrl><MediaId><![CDATA[m]]></MediaId><MsgId>42</MsgId><AgentID>1000002</AgentID></xml>`,
			want: Incoming{Key: "msg:42", User: "nurse01", AgentID: 1000002, CreateTime: time.Unix(1700000300, 0), Type: "image", MsgID: "42"},
		},
	} {
		got, err := ParseIncoming([]byte(tc.xml))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !equalIncoming(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}
}

func equalIncoming(a, b Incoming) bool {
	return a.Key == b.Key && a.User == b.User && a.AgentID == b.AgentID && a.CreateTime.Equal(b.CreateTime) &&
		a.Type == b.Type && a.Text == b.Text && a.Event == b.Event && a.EventKey == b.EventKey &&
		a.TaskID == b.TaskID && a.CardType == b.CardType && a.ResponseCode == b.ResponseCode &&
		slices.Equal(a.Selected, b.Selected) && a.MsgID == b.MsgID
}

func TestParseIncomingMalformed(t *testing.T) {
	for name, x := range map[string]string{
		"not xml":      "hello",
		"no sender":    `<xml><MsgType>text</MsgType><CreateTime>1</CreateTime><MsgId>1</MsgId></xml>`,
		"no type":      `<xml><FromUserName>a</FromUserName><CreateTime>1</CreateTime><MsgId>1</MsgId></xml>`,
		"bad time":     `<xml><FromUserName>a</FromUserName><MsgType>text</MsgType><CreateTime>soon</CreateTime><MsgId>1</MsgId></xml>`,
		"bad agent id": `<xml><FromUserName>a</FromUserName><MsgType>text</MsgType><CreateTime>1</CreateTime><MsgId>1</MsgId><AgentID>x</AgentID></xml>`,
	} {
		if _, err := ParseIncoming([]byte(x)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}
