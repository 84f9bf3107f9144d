package main

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// report is one fault report a reporter types, and how WeCom delivers it.
type report struct {
	n     int
	user  string
	msgID int64
	// text is the whole message, "报修 … #n".
	text string
	// concurrent retries go out right behind the first copy, so that they
	// are in flight together with it (WeCom retrying a slow answer).
	concurrent int
	// later retries go out these delays after the first copy was answered.
	later []time.Duration
}

// copies is how often WeCom delivers the report.
func (r *report) copies() int { return 1 + r.concurrent + len(r.later) }

// tag ends the report's text and so its ticket's description.
func (r *report) tag() string { return fmt.Sprintf("#%d", r.n) }

// reporter is a member of the hospital's address list.
type reporter struct {
	id, name string
	dept     int
}

// departments of the hospital, as the address list names them; the ids are
// what WeCom's department/get answers for.
var departments = []string{
	"门诊收费处", "住院收费处", "急诊科", "内科一病区", "外科二病区", "儿科病区", "妇产科",
	"检验科", "药剂科", "手术麻醉科", "体检中心", "病案室", "护理部", "医保办",
}

var surnames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾")
var givenNames = []string{"芳", "敏", "静", "丽", "娟", "艳", "霞", "婷", "雪", "慧", "晓燕", "春梅", "秀英", "建华", "志强", "海燕", "玉兰", "丹丹", "佳琪", "文静"}

// faults pairs the words reporters use for a system with what goes wrong
// in it, so that a report reads like one nurse or clerk would type it.
var faults = []struct {
	system   []string
	symptoms []string
}{
	{[]string{"门诊收费", "收费系统", "收费窗口"}, []string{"打印不了发票", "结算时报错", "收费界面卡住不动", "退费点了没反应", "日结报表打不出来", "电子票据开不出来"}},
	{[]string{"挂号系统", "门诊挂号", "挂号"}, []string{"挂不上号，提示号源已满", "登录不上", "挂号单打印乱码", "退号失败", "扫码挂号一直转圈"}},
	{[]string{"门诊病历", "住院病历"}, []string{"保存时报错", "打不开病程记录", "模板加载特别卡", "签名失败", "打印白屏"}},
	{[]string{"门诊医生站", "住院医生站"}, []string{"开不了医嘱", "处方提交失败", "界面白屏", "登录后闪退", "保存诊断报错"}},
	{[]string{"护士工作站", "护理工作站"}, []string{"医嘱执行不了", "体温单打不出来", "床位图不显示", "瓶签打印不了"}},
	{[]string{"LIS", "检验系统"}, []string{"结果传不过来", "条码打印机不出纸", "签收报错", "仪器数据接收不到", "审核后医生看不到报告"}},
	{[]string{"医保", "医保接口", "医保结算"}, []string{"读不了医保卡", "一直超时", "上传结算清单失败", "电子凭证扫码失败", "目录对照查不到"}},
	{[]string{"门诊药房", "住院药房"}, []string{"发药扫码没反应", "退药提交失败", "打印不了药袋标签", "摆药单出不来", "库存数量不对"}},
	{[]string{"住院收费", "出入院", "住院处"}, []string{"出院结算算不出来", "押金条打印失败", "中途结算报错", "办入院时报错", "预交金退不了"}},
	{[]string{"输液系统", "门诊输液"}, []string{"输液贴打印不了", "座位图不显示", "皮试结果录不进去"}},
	{[]string{"手麻系统", "手术麻醉系统"}, []string{"麻醉记录单打不出来", "监护仪数据采集不到", "手术排班保存失败"}},
	{[]string{"体检系统"}, []string{"体检报告生成失败", "导检单打印不了", "团检名单导入报错"}},
	{[]string{"院感系统"}, []string{"预警数据不刷新", "上报卡提交失败"}},
	{[]string{"病案系统"}, []string{"首页上传失败", "编码保存不了", "借阅登记报错"}},
}

// places are where the reporter is; none of them names a system, nor says
// 门诊 or 住院 (which would contradict half the systems and make opsbot ask
// which one is meant), so each report names exactly one system.
var places = []string{
	"一楼3号窗口", "一楼5号窗口", "急诊抢救室", "5病区", "8病区医生办公室", "外科二病区",
	"二楼内科诊室8", "儿科病区", "妇产科", "眼科", "三楼医生办公室", "三楼口腔科",
	"康复科", "重症医学科", "新生儿科", "心内科病区",
}

var openers = []string{"", "", "", "你好，", "麻烦看一下，", "急！", "师傅，", "您好，"}
var tails = []string{"", "", "", "，病人在排队等着", "，重启过了还是不行", "，从早上开始的", "，整个科室都这样", "，有点着急", "，换了台电脑也一样"}

// planReports builds the reports of a run: who sends what, and how WeCom
// repeats it. The same seed gives the same run; msgBase keeps the MsgIds of
// one run apart from every other run's.
func planReports(n, users, maxCopies int, seed uint64, msgBase int64) ([]report, []reporter) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	people := make([]reporter, users)
	for i := range people {
		name := string(surnames[rng.IntN(len(surnames))]) + givenNames[rng.IntN(len(givenNames))]
		people[i] = reporter{id: fmt.Sprintf("load%05d", i), name: name, dept: 2 + rng.IntN(len(departments))}
	}
	// Every reporter sends about the same number of reports (so no one
	// passes WeCom's 30 messages a minute before the others), in an order
	// shuffled block by block, so one reporter's reports sometimes follow
	// each other closely and meet in the per-user queue.
	order := make([]int, 0, n)
	for len(order) < n {
		order = append(order, rng.Perm(users)...)
	}
	reports := make([]report, n)
	for i := range reports {
		r := &reports[i]
		r.n = i
		r.user = people[order[i]].id
		r.msgID = msgBase + int64(i)
		r.text = "报修 " + faultText(rng) + " " + r.tag()
		for range rng.IntN(maxCopies) {
			// Half the retries overlap the first copy, half come after its
			// answer, up to half a second later.
			if rng.IntN(2) == 0 {
				r.concurrent++
			} else {
				r.later = append(r.later, time.Duration(5+rng.IntN(500))*time.Millisecond)
			}
		}
	}
	return reports, people
}

// faultText is one report as a reporter would type it: a system, what is
// wrong, and where, in a few word orders.
func faultText(rng *rand.Rand) string {
	f := faults[rng.IntN(len(faults))]
	sys := f.system[rng.IntN(len(f.system))]
	sym := f.symptoms[rng.IntN(len(f.symptoms))]
	place := places[rng.IntN(len(places))]
	open := openers[rng.IntN(len(openers))]
	tail := tails[rng.IntN(len(tails))]
	switch rng.IntN(3) {
	case 0:
		return open + sys + sym + "，" + place + tail
	case 1:
		return open + place + "的" + sys + sym + tail
	default:
		return open + place + "，" + sys + "：" + sym + tail
	}
}
