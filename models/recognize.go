package models

import (
	"slices"

	"opsbot/configs"
)

// Recognition is what one chat message says about a possible ticket. Kind, Priority and
// PriorityWhy are only meaningful when SmallTalk is false.
type Recognition struct {
	System      *System  // set when one system is clearly meant
	Candidates  []System // 2–4 systems to offer when the text fits several ("药房")
	Location    string   // where, as typed: "门诊一楼3号窗口", "3楼", "急诊科"
	Department  string   // a department of the dictionary, when one is named
	Kind        Kind     // fault unless question, request or policy words say otherwise
	Priority    Priority // from impact words; question and request default to low
	PriorityWhy string   // the word that decided the priority, shown to the reporter; "" for the default
	FaultLike   bool     // names a system or a fault word: free text may start an intake
	SmallTalk   bool     // thanks, greetings, stickers: never a ticket
}

// Recognize reads a reporter's message. It is pure and deterministic and does no I/O,
// so handlers may call it on every incoming message.
func (c *Catalog) Recognize(msg string) Recognition {
	t := normalize(msg)
	var r Recognition

	ms := c.match(&t)
	cues := readCues(&t)
	// "好的，我重启下电脑试试" mentions a computer but reports nothing: a hint alone
	// needs a fault or a kind word beside it.
	if !cues.fault && !cues.kindWord && !slices.ContainsFunc(ms, func(m SystemMatch) bool { return !m.hintOnly }) {
		ms = nil
	}
	if len(ms) > 0 {
		group := topGroup(ms)
		switch {
		case len(group) == 1:
			s := group[0].System
			r.System = &s
		case len(group) <= maxCandidates:
			r.Candidates = make([]System, len(group))
			for i, m := range group {
				r.Candidates[i] = m.System
			}
		}
	}

	r.FaultLike = len(ms) > 0 || cues.fault
	r.Kind, r.Priority, r.PriorityWhy = cues.verdict()
	r.Location = c.location(&t)
	r.Department = c.department(&t)
	r.SmallTalk = !r.FaultLike && !cues.kindWord && (cues.small || t.onlyEmoji() || smallReplies[string(t.compact)])
	return r
}

// ---- cue words: kind, priority, fault and small talk ----

// cueEffect is what a cue word says about a message; one word may say several things.
type cueEffect uint16

const (
	cueFault    cueEffect = 1 << iota // something is broken
	cueHigh                           // wide or urgent impact
	cueLow                            // minor or not urgent
	cueQuestion                       // asks how to do something
	cueAsk                            // polite "请问": a question only when nothing is broken
	cueRequest                        // wants a change or a new feature
	cuePolicy                         // ordered by a government document or a higher body
	cueSmall                          // thanks, greetings, acknowledgements
	cueNeutral                        // claims its span so a shorter cue inside is ignored
)

// cueWords is the vocabulary of kinds, priorities, faults and small talk. The longest
// word at a place wins, which is how "能不能" (a request) hides "不能" (a fault) and
// "不着急" hides "着急". Add words here, not branches in code.
var cueWords = []struct {
	word   string
	effect cueEffect
}{
	// Faults: the things reporters say when something does not work. Chinese builds
	// most of them as "V不了/V不上/V不出/V不到", so the bare endings are cues too.
	{"打不开", cueFault}, {"打不了", cueFault}, {"打印不了", cueFault}, {"打不出", cueFault},
	{"报错", cueFault}, {"错误", cueFault}, {"出错", cueFault}, {"错了", cueFault}, {"失败", cueFault},
	{"无法", cueFault}, {"不能", cueFault}, {"用不了", cueFault}, {"进不去", cueFault},
	{"登不上", cueFault}, {"登录不上", cueFault}, {"登陆不上", cueFault}, {"登录不了", cueFault},
	{"死机", cueFault}, {"卡死", cueFault}, {"卡住", cueFault}, {"卡顿", cueFault}, {"很卡", cueFault},
	{"好卡", cueFault}, {"太卡", cueFault}, {"特别卡", cueFault}, {"有点卡", cueFault}, {"卡了", cueFault},
	{"一直卡", cueFault}, {"卡得", cueFault}, {"卡的", cueFault}, {"闪退", cueFault}, {"白屏", cueFault},
	{"黑屏", cueFault}, {"蓝屏", cueFault}, {"没反应", cueFault}, {"没有反应", cueFault},
	{"不显示", cueFault}, {"显示不出", cueFault}, {"出不来", cueFault}, {"异常", cueFault},
	{"宕机", cueFault | cueHigh}, {"瘫痪", cueFault | cueHigh}, {"停了", cueFault | cueHigh},
	{"断了", cueFault}, {"掉线", cueFault}, {"连不上", cueFault}, {"上不了网", cueFault},
	{"断网", cueFault}, {"网断", cueFault}, {"不动了", cueFault}, {"坏了", cueFault}, {"卡纸", cueFault},
	{"乱码", cueFault}, {"乱了", cueFault}, {"不对", cueFault}, {"对不上", cueFault}, {"丢了", cueFault},
	{"丢失", cueFault}, {"没了", cueFault}, {"不见了", cueFault}, {"转圈", cueFault}, {"超时", cueFault},
	{"不通过", cueFault}, {"空白", cueFault}, {"不行", cueFault}, {"不好使", cueFault}, {"崩了", cueFault},
	{"崩溃", cueFault}, {"故障", cueFault}, {"bug", cueFault}, {"重复收费", cueFault},
	{"不了", cueFault}, {"不上", cueFault}, {"不出", cueFault}, {"不进", cueFault}, {"不到", cueFault},
	{"不掉", cueFault}, {"不全", cueFault}, {"很慢", cueFault}, {"好慢", cueFault}, {"太慢", cueFault},
	{"特别慢", cueFault}, {"延迟", cueFault}, {"不过去", cueFault}, {"不过来", cueFault},
	{"不成功", cueFault}, {"花屏", cueFault}, {"闪屏", cueFault},
	{"怎么回事", cueFault}, {"咋回事", cueFault}, {"怎么办", cueFault}, {"咋办", cueFault},
	{"怎么了", cueFault}, {"咋了", cueFault}, {"怎么又", cueFault}, {"咋又", cueFault},
	{"怎么还", cueFault}, {"怎么老", cueFault}, {"怎么总", cueFault}, {"怎么一直", cueFault},
	{"怎么突然", cueFault}, {"为什么", cueFault}, {"为啥", cueFault}, {"什么情况", cueFault},
	{"啥情况", cueFault}, {"出问题", cueFault}, {"有问题", cueFault}, {"没声音", cueFault},
	{"没声", cueFault}, {"不响", cueFault}, {"没到账", cueFault}, {"不亮", cueFault},
	{"一闪一闪", cueFault}, {"闪烁", cueFault}, {"空的", cueFault}, {"一道一道", cueFault},
	{"条纹", cueFault}, {"模糊", cueFault}, {"兰屏", cueFault}, {"不正常", cueFault}, {"失灵", cueFault},

	// Impact: how many people or how critical a place is waiting on it.
	{"全院", cueHigh}, {"所有", cueHigh}, {"全部", cueHigh}, {"整个", cueHigh}, {"全都", cueHigh},
	{"全科", cueHigh}, {"全科室", cueHigh}, {"无法收费", cueFault | cueHigh},
	{"收不了费", cueFault | cueHigh}, {"不能收费", cueFault | cueHigh}, {"急诊", cueHigh},
	{"抢救", cueHigh}, {"手术室", cueHigh}, {"手术中", cueHigh}, {"icu", cueHigh}, {"重症", cueHigh},
	{"监护室", cueHigh}, {"排长队", cueHigh}, {"在排队", cueHigh}, {"病人排队", cueHigh}, {"好多人", cueHigh},
	{"一堆人", cueHigh}, {"一堆", cueHigh}, {"紧急", cueHigh}, {"很急", cueHigh}, {"着急", cueHigh},
	{"急用", cueHigh}, {"急着", cueHigh}, {"急死", cueHigh}, {"挺急", cueHigh}, {"比较急", cueHigh},
	{"特急", cueHigh},
	{"偶尔", cueLow}, {"个别", cueLow}, {"有时候", cueLow}, {"有时", cueLow}, {"不急", cueLow},
	{"不着急", cueLow}, {"不是很急", cueLow}, {"不紧急", cueLow}, {"有空", cueLow},
	{"方便的时候", cueLow}, {"方便时", cueLow},

	// Questions. "请问" and "问一下" are politeness more often than a question, so they
	// are weak: a question only when nothing in the message is broken.
	{"怎么", cueQuestion}, {"如何", cueQuestion}, {"怎样", cueQuestion}, {"咋", cueQuestion},
	{"咨询", cueQuestion | cueLow}, {"请教", cueQuestion}, {"在哪", cueQuestion}, {"哪里", cueQuestion},
	{"哪儿", cueQuestion}, {"是否", cueQuestion}, {"不会用", cueQuestion}, {"不会弄", cueQuestion},
	{"不知道怎么", cueQuestion}, {"怎么办理", cueQuestion},
	{"请问", cueAsk}, {"请问一下", cueAsk}, {"问一下", cueAsk}, {"问下", cueAsk}, {"想问", cueAsk},

	// Requests for change (优化改善 in the tender).
	{"需求", cueRequest}, {"希望", cueRequest}, {"增加", cueRequest}, {"新增", cueRequest},
	{"加一个", cueRequest}, {"加个", cueRequest}, {"加一下", cueRequest}, {"加一项", cueRequest},
	{"添加", cueRequest}, {"优化", cueRequest}, {"改成", cueRequest}, {"改为", cueRequest},
	{"改一下", cueRequest}, {"调整", cueRequest}, {"能不能", cueRequest}, {"能否", cueRequest},
	{"可不可以", cueRequest}, {"可否", cueRequest}, {"想要", cueRequest}, {"建议", cueRequest},
	{"开通", cueRequest}, {"开个", cueRequest}, {"开一个", cueRequest}, {"开一下", cueRequest},
	{"开权限", cueRequest}, {"加权限", cueRequest}, {"新功能", cueRequest},

	// Policy interface work ordered from above (tender 4.2).
	{"红头文件", cuePolicy}, {"文件要求", cuePolicy}, {"政策", cuePolicy}, {"上级要求", cuePolicy},
	{"上级部门", cuePolicy}, {"上面要求", cuePolicy}, {"医保局要求", cuePolicy},
	{"医保局通知", cuePolicy}, {"医保局文件", cuePolicy}, {"卫健委", cuePolicy}, {"卫健局", cuePolicy},
	{"卫生局", cuePolicy}, {"疾控要求", cuePolicy}, {"国家要求", cuePolicy}, {"省里要求", cuePolicy},
	{"市里要求", cuePolicy}, {"省医保", cuePolicy}, {"市医保", cuePolicy}, {"接口对接", cuePolicy},
	{"对接", cuePolicy}, {"数据上传", cuePolicy}, {"上传到", cuePolicy}, {"新接口", cuePolicy},
	{"监管", cuePolicy}, {"要求上线", cuePolicy}, {"国家平台", cuePolicy}, {"省平台", cuePolicy},

	// Small talk.
	{"谢谢", cueSmall}, {"谢啦", cueSmall}, {"谢了", cueSmall}, {"感谢", cueSmall}, {"多谢", cueSmall},
	{"辛苦", cueSmall}, {"麻烦了", cueSmall}, {"麻烦你了", cueSmall}, {"麻烦您了", cueSmall},
	{"收到", cueSmall}, {"在吗", cueSmall}, {"在不在", cueSmall}, {"在么", cueSmall}, {"在嘛", cueSmall},
	{"你好", cueSmall}, {"您好", cueSmall}, {"早上好", cueSmall}, {"上午好", cueSmall},
	{"中午好", cueSmall}, {"下午好", cueSmall}, {"晚上好", cueSmall}, {"早安", cueSmall},
	{"晚安", cueSmall}, {"好的", cueSmall}, {"好滴", cueSmall}, {"好嘞", cueSmall}, {"好吧", cueSmall},
	{"知道了", cueSmall}, {"明白", cueSmall}, {"了解", cueSmall}, {"哈哈", cueSmall}, {"嘿嘿", cueSmall},
	{"呵呵", cueSmall}, {"可以了", cueSmall}, {"好了", cueSmall}, {"没事了", cueSmall},
	{"没问题", cueSmall}, {"嗯嗯", cueSmall}, {"快乐", cueSmall}, {"ok", cueSmall}, {"okay", cueSmall},
	{"thanks", cueSmall}, {"thx", cueSmall}, {"不客气", cueSmall}, {"打扰了", cueSmall},

	// Words that contain a cue but do not mean it.
	{"不卡了", cueNeutral}, {"好不好", cueNeutral}, {"行不行", cueNeutral}, {"对不对", cueNeutral},
	{"是不是", cueNeutral}, {"不用了", cueNeutral}, {"不好意思", cueNeutral}, {"加急", cueNeutral},
	{"全院会诊", cueNeutral},
}

// smallReplies are whole messages that are acknowledgements on their own ("中" is
// Henan for "OK"), matched only as the entire message because inside a sentence
// they mean something else.
var smallReplies = map[string]bool{
	"行": true, "嗯": true, "好": true, "哦": true, "噢": true, "喔": true, "对": true, "是": true,
	"是的": true, "中": true, "嗯呢": true, "可以": true, "好哒": true, "妥": true, "得嘞": true,
	"1": true, "收": true, "okk": true, "早": true, "在的": true, "在呢": true, "在": true,
}

var cueDict = func() *dict {
	d := newDict()
	for i, w := range cueWords {
		d.add(w.word, termAlias, i)
	}
	return d
}()

// cueReading is what the cue words of one message add up to.
type cueReading struct {
	fault, small, kindWord bool
	question, ask          string // the deciding words, empty when absent
	request, policy        string
	high, low              string
}

// readCues collects the cue words of a message.
func readCues(t *text) cueReading {
	var cr cueReading
	hits := cueDict.longest(t.compact)
	for k, h := range hits {
		w := cueWords[cueDict.terms[h.term].owners[0]]
		word := t.typed(h)
		e := w.effect
		if e&cueFault != 0 {
			cr.fault = true
			// "都打不开" — the same fault for everyone — is wide impact.
			if cr.high == "" && h.start > 0 && t.compact[h.start-1] == '都' {
				cr.high = "都" + word
			}
		}
		// "怎么打不开" complains about a fault rather than asking how.
		if e&cueQuestion != 0 && k+1 < len(hits) && hits[k+1].start-h.end <= 1 &&
			cueWords[cueDict.terms[hits[k+1].term].owners[0]].effect&cueFault != 0 {
			e &^= cueQuestion
		}
		first := func(dst *string) {
			if *dst == "" {
				*dst = word
			}
		}
		if e&cueHigh != 0 {
			first(&cr.high)
		}
		if e&cueLow != 0 {
			first(&cr.low)
		}
		if e&cueQuestion != 0 {
			first(&cr.question)
		}
		if e&cueAsk != 0 {
			first(&cr.ask)
		}
		if e&cueRequest != 0 {
			first(&cr.request)
		}
		if e&cuePolicy != 0 {
			first(&cr.policy)
		}
		if e&cueSmall != 0 {
			cr.small = true
		}
	}
	cr.kindWord = cr.question != "" || cr.ask != "" || cr.request != "" || cr.policy != ""
	return cr
}

// verdict decides kind and priority. Policy outranks request outranks question,
// because "请问能不能按文件要求对接" is policy work however politely it is put; a fault
// word outranks only the weak "请问".
func (cr cueReading) verdict() (Kind, Priority, string) {
	kind, kindWord := KindFault, ""
	switch {
	case cr.policy != "":
		kind, kindWord = KindPolicy, cr.policy
	case cr.request != "":
		kind, kindWord = KindRequest, cr.request
	case cr.question != "":
		kind, kindWord = KindQuestion, cr.question
	case cr.ask != "" && !cr.fault:
		kind, kindWord = KindQuestion, cr.ask
	}
	switch {
	case cr.high != "":
		return kind, PriorityHigh, cr.high
	case cr.low != "":
		return kind, PriorityLow, cr.low
	case kind == KindQuestion || kind == KindRequest:
		// How-to questions and change requests wait for the 5-day target (tender 4.5.1).
		return kind, PriorityLow, kindWord
	}
	return kind, PriorityMedium, ""
}

// softwareWords say the fault is in a program rather than in the machine it runs on.
var softwareWords = []string{
	"提示", "报错", "数据库", "弹出", "弹框", "登录", "登陆", "登不上", "保存", "提交", "查不到", "看不到",
	"闪退", "错误", "失败", "乱码", "异常", "无权限", "没有权限",
}

var softwareDict = func() *dict {
	d := newDict()
	for _, w := range softwareWords {
		d.add(w, termAlias, -1)
	}
	return d
}()

// onlyEmoji reports whether the message has no words at all, only stickers or emoji
// (or nothing).
func (t *text) onlyEmoji() bool { return len(t.compact) == 0 }

// ---- systems: context and typing slips ----

// contextPrefixes are the words that make a bare system word specific: "药房" with
// 门诊 is 门诊药房. Longer first, so "门急诊收费" is cut at 门急诊.
var contextPrefixes = []struct {
	word string
	ctx  ctxMask
}{
	{"门急诊", ctxOut}, {"门诊", ctxOut}, {"急诊", ctxOut}, {"住院", ctxIn}, {"医技", ctxTech},
}

// contextWords tell which side of the hospital a message comes from. Explicit ones
// are said outright; implied ones are places that belong to one side.
var contextWords = []struct {
	word     string
	ctx      ctxMask
	explicit bool
}{
	{"门诊", ctxOut, true}, {"门急诊", ctxOut, true}, {"急诊", ctxOut, true},
	{"住院", ctxIn, true}, {"医技", ctxTech, true},
	{"诊室", ctxOut, false}, {"诊间", ctxOut, false}, {"候诊", ctxOut, false},
	{"病区", ctxIn, false}, {"病房", ctxIn, false}, {"护士站", ctxIn, false},
	{"出院", ctxIn, false}, {"入院", ctxIn, false},
	{"ct室", ctxTech, false}, {"彩超", ctxTech, false}, {"b超", ctxTech, false},
	{"放射", ctxTech, false}, {"检查室", ctxTech, false}, {"ct", ctxTech, false},
	{"核磁", ctxTech, false}, {"磁共振", ctxTech, false},
}

// typoVariants are pinyin-input slips seen in practice: the typed word sounds like the
// right one. safeAlone marks slips that are not real words, so even the two-character
// word is safe to read; "病例" and "挂好" are real words and are read only inside a
// longer alias ("电子病例", "挂好系统").
var typoVariants = []struct {
	right, typed string
	safeAlone    bool
}{
	{"病历", "病例", false},
	{"挂号", "挂好", false},
	{"排班", "排版", false},
	{"微信", "威信", false},
	{"医嘱", "医属", true},
	{"医保", "医宝", true},
	{"蓝屏", "兰屏", true},
	{"医嘱", "医瞩", true},
	{"处方", "处放", true},
	{"病案", "病按", true},
	{"住院", "注院", true},
	{"检验", "检演", true},
}

// neutralWords contain a system alias but do not mean that system: the chat app itself
// is 企业微信, not the WeChat official account.
var neutralWords = []string{"企业微信", "微信群", "企微"}

// ---- location and department ----

// Place word classes.
const (
	placeStrong        uint8 = iota // names a place on its own: 窗口, 护士站, a department
	placeWeak                       // only part of a place: 门诊 in 门诊一楼
	placeUnit                       // follows a number: 3楼, 5病区, 12床
	placeUnitNeedsMore              // "3号" is a place only when more follows: 3号窗口, not 1号 (a date)
)

// placeWords are the words a location is built from, besides department names.
var placeWords = []struct {
	word  string
	class uint8
}{
	{"门诊楼", placeStrong}, {"住院楼", placeStrong}, {"住院部", placeStrong}, {"医技楼", placeStrong},
	{"病房楼", placeStrong}, {"综合楼", placeStrong}, {"行政楼", placeStrong}, {"急诊楼", placeStrong},
	{"门诊大厅", placeStrong}, {"住院大厅", placeStrong}, {"大厅", placeStrong}, {"窗口", placeStrong},
	{"收费窗口", placeStrong}, {"挂号窗口", placeStrong}, {"发药窗口", placeStrong}, {"护士站", placeStrong},
	{"分诊台", placeStrong}, {"导诊台", placeStrong}, {"诊室", placeStrong}, {"诊间", placeStrong},
	{"东区", placeStrong}, {"西区", placeStrong}, {"南区", placeStrong}, {"北区", placeStrong},
	{"东院", placeStrong}, {"西院", placeStrong}, {"新院区", placeStrong}, {"老院区", placeStrong},
	{"机房", placeStrong}, {"办公室", placeStrong}, {"医生办", placeStrong}, {"护士办", placeStrong},
	{"治疗室", placeStrong}, {"处置室", placeStrong}, {"换药室", placeStrong}, {"配药室", placeStrong},
	{"候诊区", placeStrong},
	{"门诊", placeWeak}, {"门急诊", placeWeak}, {"住院", placeWeak}, {"病区", placeWeak},
	{"病房", placeWeak}, {"楼上", placeWeak}, {"楼下", placeWeak},
}

// placeUnits follow a number.
var placeUnits = []struct {
	word  string
	class uint8
}{
	{"楼", placeUnit}, {"层", placeUnit}, {"楼层", placeUnit}, {"号楼", placeUnit}, {"号窗口", placeUnit},
	{"号窗", placeUnit}, {"号诊室", placeUnit}, {"诊室", placeUnit}, {"号诊间", placeUnit},
	{"诊间", placeUnit}, {"病区", placeUnit}, {"区", placeUnit}, {"床", placeUnit}, {"号床", placeUnit},
	{"室", placeUnit}, {"间", placeUnit}, {"号手术间", placeUnit}, {"手术间", placeUnit},
	{"号台", placeUnit}, {"号机", placeUnit}, {"号", placeUnitNeedsMore},
}

var unitDict = func() *dict {
	d := newDict()
	for _, u := range placeUnits {
		d.add(u.word, termAlias, -1)
		t, _ := d.lookup(u.word)
		t.class = u.class
	}
	return d
}()

// buildPlaceDict indexes place words and department words for the location reader.
func buildPlaceDict(deps []Department) *dict {
	d := newDict()
	for _, p := range placeWords {
		d.add(p.word, termAlias, -1)
		t, _ := d.lookup(p.word)
		t.class = p.class
	}
	for _, dep := range deps {
		for _, w := range append([]string{dep.Name}, dep.Aliases...) {
			d.add(w, termAlias, -1)
			if t, ok := d.lookup(configs.FoldKey(w)); ok {
				t.class = placeStrong
			}
		}
	}
	return d
}

// placeToken is one piece of a location in the lower-cased message.
type placeToken struct {
	start, end int
	class      uint8
	number     bool
}

// location reads the most specific place in the message: a run of adjacent place
// pieces ("门诊" "一楼" "3号" "窗口") with at least one strong piece; a run with a
// number beats one without, then the longer run wins.
func (c *Catalog) location(t *text) string {
	s := t.lower
	var toks []placeToken
	for i := 0; i < len(s); {
		if end, class, ok := longestAt(c.places, s, i); ok {
			toks = append(toks, placeToken{i, end, class, hasNumeral(s[i:end])})
			i = end
			continue
		}
		if isNumeral(s[i]) || s[i] == '负' && i+1 < len(s) && isNumeral(s[i+1]) {
			j := i + 1
			for j < len(s) && isNumeral(s[j]) {
				j++
			}
			if end, class, ok := longestAt(unitDict, s, j); ok {
				toks = append(toks, placeToken{i, end, class, true})
				j = end
			}
			i = j
			continue
		}
		i++
	}
	bestStart, bestEnd, bestScore := 0, 0, 0
	for a := 0; a < len(toks); {
		b, strong, number := a, false, false
		for ; b < len(toks) && (b == a || toks[b].start == toks[b-1].end); b++ {
			tk := toks[b]
			if tk.class == placeUnitNeedsMore && (b+1 >= len(toks) || toks[b+1].start != tk.end) {
				break
			}
			strong = strong || tk.class != placeWeak
			number = number || tk.number
		}
		if b == a { // a lone "1号": skip it
			a++
			continue
		}
		if strong {
			score := toks[b-1].end - toks[a].start
			if number {
				score += 100
			}
			if score > bestScore {
				bestStart, bestEnd, bestScore = toks[a].start, toks[b-1].end, score
			}
		}
		a = b
	}
	if bestScore == 0 {
		return ""
	}
	return string(t.display[bestStart:bestEnd])
}

// longestAt returns the end of the longest dictionary word starting at i.
func longestAt(d *dict, s []rune, i int) (end int, class uint8, ok bool) {
	n := d.root
	for j := i; j < len(s); j++ {
		child, found := n.next[s[j]]
		if !found {
			break
		}
		n = child
		if n.term != 0 {
			end, class, ok = j+1, d.terms[n.term-1].class, true
		}
	}
	return end, class, ok
}

// department returns the dictionary name of the most specific department named in the
// message, reading "收费处" as 住院处 when the message is about 住院.
func (c *Catalog) department(t *text) string {
	best, bestScore := -1, 0
	for _, h := range c.depDict.longest(t.compact) {
		tm := &c.depDict.terms[h.term]
		if len(tm.owners) == 0 {
			continue
		}
		owner, score := tm.owners[0], perRune*tm.runes
		for bit := 0; bit < ctxKinds; bit++ {
			if t.ctx&(1<<bit) != 0 && len(tm.withCtx[bit]) > 0 {
				owner, score = tm.withCtx[bit][0], score+explicitBonus
			}
		}
		if score > bestScore {
			best, bestScore = owner, score
		}
	}
	if best < 0 {
		return ""
	}
	return c.departments[best].Name
}

func hasNumeral(rs []rune) bool { return slices.ContainsFunc(rs, isNumeral) }
