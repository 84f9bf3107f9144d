package bot

import (
	"encoding/xml"
	"reflect"
	"testing"
)

// FuzzFlatXML: whatever the fast reader accepts, encoding/xml reads the
// same way, for messages and for envelopes.
func FuzzFlatXML(f *testing.F) {
	for _, seed := range []string{
		string(textXML(1, "报修 HIS 登录不了")),
		`<xml><ToUserName><![CDATA[ww]]></ToUserName><Encrypt><![CDATA[abc+/=]]></Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>`,
		"<xml>\n <FromUserName>u</FromUserName>\n <MsgType>event</MsgType><Event><![CDATA[template_card_event]]></Event><CreateTime>1</CreateTime></xml>\n",
		`<xml><Content><![CDATA[a]]b<c>&amp;]]></Content><Unknown>x</Unknown></xml>`,
		`<xml><Content>a &amp; b</Content></xml>`,
		`<xml><A>1</A><A>2</A></xml>`,
		`<xml><A x="1">1</A></xml>`,
		"<xml><Content>a\r\nb</Content></xml>",
		`<?xml version="1.0"?><xml><A>1</A></xml>`,
		`<xml><SelectedItems><SelectedItem><OptionIds><OptionId>1</OptionId></OptionIds></SelectedItem></SelectedItems></xml>`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if fast, ok := flatIncoming(data); ok {
			var slow rawIncoming
			if err := xml.Unmarshal(data, &slow); err != nil {
				t.Fatalf("fast path read %q, encoding/xml refuses it: %v", data, err)
			}
			if !reflect.DeepEqual(fast, slow) {
				t.Fatalf("%q:\nfast %+v\nslow %+v", data, fast, slow)
			}
		}
		if fast, ok := flatEnvelope(data); ok {
			var slow envelopeIn
			if err := xml.Unmarshal(data, &slow); err != nil || fast != slow {
				t.Fatalf("%q: fast %+v, slow %+v %v", data, fast, slow, err)
			}
		}
	})
}

// The messages WeCom sends take the fast path; the unusual ones do not.
func TestFlatXMLTakesWeComMessages(t *testing.T) {
	if _, ok := flatIncoming(textXML(1, "报修 门诊收费 3号窗口打印不了发票")); !ok {
		t.Error("a WeCom text message missed the fast path")
	}
	for _, odd := range []string{
		`<xml><Content>a &amp; b</Content></xml>`,
		`<xml><SelectedItems><SelectedItem/></SelectedItems></xml>`,
		`<xml><A>1</A><A>2</A></xml>`,
	} {
		if _, ok := flatIncoming([]byte(odd)); ok {
			t.Errorf("%s took the fast path", odd)
		}
	}
}
