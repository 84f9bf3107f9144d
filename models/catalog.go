package models

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"opsbot/configs"

	"gorm.io/gorm/clause"
)

// System is one hospital system of the contract (tender 4.1); every ticket names one by Code.
type System struct {
	Code     string   `gorm:"primaryKey;size:32"`
	Name     string   `gorm:"size:64;not null"`
	Category string   `gorm:"size:16;index"`
	Aliases  []string `gorm:"serializer:json"`
	// Active is false for a system taken out of service: it keeps its tickets but is no
	// longer offered to reporters. There is deliberately no GORM default, because GORM
	// would then write true over an explicit false.
	Active bool `gorm:"not null"`
	// Hints are weak words: they point at this system only when nothing else in the
	// message names one. They come from the catalog file and are not stored.
	Hints []string `gorm:"-"`
	// General marks an IT support category outside the contract's systems (终端电脑,
	// 打印机/外设, 网络 …); it comes from the catalog file and is not stored.
	General bool `gorm:"-"`
}

// Department is a department or place of the hospital that reporters name in chat.
type Department struct {
	ID       uint     `gorm:"primaryKey"`
	Name     string   `gorm:"size:64;uniqueIndex;not null"`
	Aliases  []string `gorm:"serializer:json"`
	Location string   `gorm:"size:128"`
}

// SystemMatch is one candidate system for a text, with its score and the word that won it.
type SystemMatch struct {
	System System
	Word   string // the matching word as the reporter typed it
	Score  int
	// hintOnly is set when only hints point at the system ("电脑"): not enough to make
	// a chat message a report without a fault word.
	hintOnly bool
}

// SystemsFromConfig turns catalog entries into active systems, keeping their order.
func SystemsFromConfig(entries []configs.SystemEntry) []System {
	out := make([]System, len(entries))
	for i, e := range entries {
		out[i] = System{Code: e.Code, Name: e.Name, Category: e.Category, Aliases: append([]string(nil), e.Aliases...),
			Hints: append([]string(nil), e.Hints...), General: e.General, Active: true}
	}
	return out
}

// DepartmentsFromConfig turns dictionary entries into departments, keeping their order.
func DepartmentsFromConfig(entries []configs.DepartmentEntry) []Department {
	out := make([]Department, len(entries))
	for i, e := range entries {
		out[i] = Department{Name: e.Name, Aliases: append([]string(nil), e.Aliases...), Location: e.Location}
	}
	return out
}

// Catalog answers which system or department a word or a sentence means. It is built
// once from the systems and departments; afterwards only the learned aliases change,
// swapped in whole by SetLearned, so one Catalog may serve every chat at once.
type Catalog struct {
	systems     []System
	departments []Department
	byCode      map[string]int   // folded code → index in systems
	byName      map[string]int   // folded name or common-word alias → index, for words kept out of free text
	categories  map[string][]int // folded category code → active systems, in order
	inherent    []ctxMask        // the context a system's name implies (门诊/住院/医技)
	base        *dict            // words → systems without learned aliases
	words       atomic.Pointer[systemWords]
	depDict     *dict // words → departments
	places      *dict // words that make up a location
}

// systemWords is the dictionary the recogniser reads, with the learned aliases in it.
type systemWords struct {
	dict    *dict
	learned map[string]string // folded phrase → code, as installed
}

// NewCatalog indexes systems and departments for matching. The slices are copied, so
// the caller may reuse them. Inactive systems are kept for System and Systems but are
// never recognised.
func NewCatalog(systems []System, departments []Department) *Catalog {
	c := &Catalog{
		systems:     append([]System(nil), systems...),
		departments: append([]Department(nil), departments...),
		byCode:      map[string]int{},
		byName:      map[string]int{},
		categories:  map[string][]int{},
		inherent:    make([]ctxMask, len(systems)),
	}
	for i, s := range c.systems {
		c.byCode[configs.FoldKey(s.Code)] = i
		c.byName[configs.FoldKey(s.Name)] = i
		for _, a := range s.Aliases {
			if slices.Contains(commonNames, a) {
				c.byName[configs.FoldKey(a)] = i
			}
		}
		c.inherent[i] = nameContext(s.Name)
		if s.Active && s.Category != "" {
			k := configs.FoldKey(s.Category)
			c.categories[k] = append(c.categories[k], i)
		}
	}
	c.places = buildPlaceDict(c.departments)
	c.base = c.buildSystemDict(nil)
	c.words.Store(&systemWords{dict: c.base})
	c.depDict = c.buildDepartmentDict()
	return c
}

// sysDict is the current word dictionary, learned aliases included.
func (c *Catalog) sysDict() *dict { return c.words.Load().dict }

// System returns the system with the given code (case-insensitive).
func (c *Catalog) System(code string) (System, bool) {
	i, ok := c.byCode[configs.FoldKey(code)]
	if !ok {
		return System{}, false
	}
	return c.systems[i], true
}

// Systems returns all systems in catalog order, inactive ones included.
func (c *Catalog) Systems() []System {
	return append([]System(nil), c.systems...)
}

// Resolve maps one token to the codes of the systems it covers: a category code gives
// all its active systems, a system code, name or alias gives that system, a word several
// systems share gives all of them; anything else is read as free text and gives the
// best match (several when it is a tie). It serves an engineer's coverage list
// (`systems: [HIS, LIS]`) and a reporter answering "哪个系统？". When a token is both a
// category and a system code ("LIS"), the category wins, because a coverage list means
// the whole group; the system of that code comes first so a caller wanting one can take
// the first.
func (c *Catalog) Resolve(token string) []string {
	key := configs.FoldKey(token)
	if key == "" {
		return nil
	}
	if members, ok := c.categories[key]; ok {
		out := make([]string, 0, len(members))
		if i, ok := c.byCode[key]; ok && c.systems[i].Active {
			out = append(out, c.systems[i].Code)
		}
		for _, i := range members {
			if configs.FoldKey(c.systems[i].Code) != key {
				out = append(out, c.systems[i].Code)
			}
		}
		return out
	}
	if i, ok := c.byCode[key]; ok {
		if !c.systems[i].Active {
			return nil
		}
		return []string{c.systems[i].Code}
	}
	if i, ok := c.byName[key]; ok && c.systems[i].Active {
		return []string{c.systems[i].Code}
	}
	if t, ok := c.sysDict().lookup(key); ok && t.kind != termNeutral {
		return c.codes(t.owners)
	}
	ms := c.Match(token)
	if len(ms) == 0 {
		return nil
	}
	group := topGroup(ms)
	if len(group) > maxCandidates {
		return nil
	}
	out := make([]string, len(group))
	for i, m := range group {
		out[i] = m.System.Code
	}
	return out
}

// Learned aliases: phrases engineers corrected with 改系统 (issue 11).
const (
	minLearnedRunes = 2  // one character says nothing ("卡", "票")
	maxLearnedRunes = 12 // longer is a sentence, not a name; it would never recur
)

// SetLearned installs the learned aliases (phrase → system code), replacing the previous
// set in one atomic swap, so concurrent Recognize calls see either the old or the new set
// whole. A phrase is skipped when it is shorter than two or longer than twelve characters
// once folded, all digits, a word the catalog already knows (a name, alias, hint, code,
// category, department or place: a learned alias never overrides the catalog), a cue word
// such as "打不开", or points at an unknown or inactive code. It returns how many were
// installed.
func (c *Catalog) SetLearned(phrases map[string]string) int {
	learned := map[string]int{}
	installed := map[string]string{}
	for phrase, code := range phrases {
		key := configs.FoldKey(phrase)
		i, ok := c.byCode[configs.FoldKey(code)]
		if !ok || !c.systems[i].Active || !c.learnable(key) {
			continue
		}
		learned[key] = i
		installed[key] = c.systems[i].Code
	}
	c.words.Store(&systemWords{dict: c.buildSystemDict(learned), learned: installed})
	return len(installed)
}

// Learned returns the learned aliases in use (folded phrase → code).
func (c *Catalog) Learned() map[string]string {
	out := map[string]string{}
	for k, v := range c.words.Load().learned {
		out[k] = v
	}
	return out
}

// learnable reports whether a folded phrase may become a learned alias.
func (c *Catalog) learnable(key string) bool {
	n := utf8.RuneCountInString(key)
	if n < minLearnedRunes || n > maxLearnedRunes || strings.Trim(key, "0123456789") == "" {
		return false
	}
	if _, ok := c.base.lookup(key); ok {
		return false
	}
	if _, ok := c.byCode[key]; ok {
		return false
	}
	if _, ok := c.byName[key]; ok {
		return false
	}
	if _, ok := c.categories[key]; ok {
		return false
	}
	if _, ok := cueDict.lookup(key); ok {
		return false
	}
	if _, ok := fillerDict.lookup(key); ok {
		return false
	}
	_, place := c.places.lookup(key)
	return !place
}

// LearnablePhrase picks, from a report whose system was missed or misread, the phrase
// worth learning once an engineer has said which system it meant. The rule: fold the
// text, blank out every word that says nothing about which system (fault, priority and
// small-talk cue words, places, departments, numbers with their units, and filler such
// as 的/了/一下/老师/系统/电脑/报修, though filler never cuts into a word the catalog
// knows), and take the longest run of characters left, cut to twelve characters. A run
// shorter than two characters, or one SetLearned would refuse (a catalog word, a cue or
// filler word), gives "" (nothing to learn). "5病区叫床铃不响了" gives "叫床铃";
// "挂号机打不了票", misread as 挂号, gives "挂号机".
func (c *Catalog) LearnablePhrase(text string) string {
	t := normalize(text)
	s := t.compact
	blank := make([]bool, len(s))
	// Filler never cuts into a word the catalog knows ("设备" in "设备报修").
	known := make([]bool, len(s))
	for _, h := range c.base.longest(s) {
		if c.base.terms[h.term].kind != termNeutral {
			for i := h.start; i < h.end; i++ {
				known[i] = true
			}
		}
	}
	mark := func(d *dict) {
		for _, h := range d.all(s, nil) {
			if d == c.base && d.terms[h.term].kind != termNeutral {
				continue
			}
			if d == fillerDict && slices.Contains(known[h.start:h.end], true) {
				continue
			}
			for i := h.start; i < h.end; i++ {
				blank[i] = true
			}
		}
	}
	mark(cueDict)
	mark(fillerDict)
	mark(c.places)
	mark(c.depDict)
	mark(c.base) // department and neutral words only
	for i, r := range s {
		if isNumeral(r) && r != '一' && r != '两' {
			blank[i] = true
			if i+1 < len(s) {
				if end, _, ok := longestAt(unitDict, s, i+1); ok {
					for j := i + 1; j < end; j++ {
						blank[j] = true
					}
				}
			}
		}
	}
	best, bestLen := 0, 0
	for i := 0; i < len(s); {
		if blank[i] {
			i++
			continue
		}
		j := i
		for j < len(s) && !blank[j] {
			j++
		}
		if j-i > bestLen {
			best, bestLen = i, j-i
		}
		i = j
	}
	if bestLen < minLearnedRunes {
		return ""
	}
	phrase := string(s[best : best+min(bestLen, maxLearnedRunes)])
	if !c.learnable(phrase) {
		return ""
	}
	return phrase
}

// fillerWords say nothing about which system a report means; LearnablePhrase drops them.
var fillerWords = []string{
	"的", "了", "吗", "呢", "啊", "呀", "吧", "哦", "嘛", "啦", "么", "又", "也", "都", "就", "还", "在",
	"我", "我们", "你", "你们", "他", "她", "它", "这", "那", "这个", "那个", "这边", "那边", "这里", "那里",
	"一下", "下", "一直", "老是", "总是", "突然", "今天", "刚才", "现在", "早上", "上午", "下午", "晚上",
	"老师", "师傅", "工程师", "信息科", "麻烦", "帮忙", "帮我", "看看", "看下", "看一下", "快来", "来一下",
	"系统", "电脑", "打印", "页面", "界面", "提示", "显示", "病人", "患者", "点", "个", "用", "没有", "没",
	"不", "有", "是", "说", "要", "给", "把", "被", "让", "和", "跟", "时候", "以后", "之后", "怎么",
	"保存", "提交", "登录", "登陆", "打开", "进去", "进入", "上传", "下载", "查询", "扫描", "出来",
	"机器", "设备", "东西", "软件", "程序", "问题", "情况", "报修", "报障", "维修", "修一下", "处理",
}

var fillerDict = func() *dict {
	d := newDict()
	for _, w := range fillerWords {
		d.add(w, termAlias, -1)
	}
	return d
}()

// Nearest returns the names of up to n active systems closest to an unknown name, for
// "未找到系统“xxx”，您是不是要找：…". Systems the name partly matches as free text
// come first, then those sharing the most characters with a name, alias or code.
func (c *Catalog) Nearest(name string, n int) []string {
	key := configs.FoldKey(name)
	if key == "" || n <= 0 {
		return nil
	}
	type near struct {
		i     int
		score float64
	}
	best := map[int]float64{}
	for _, m := range c.Match(name) {
		i := c.byCode[configs.FoldKey(m.System.Code)]
		best[i] = max(best[i], 1+float64(m.Score)/1000)
	}
	q := []rune(trimGeneric(key))
	// Half the characters of a Chinese name say a lot; half the letters of a short
	// code ("pacs" and "peis") say little.
	threshold := 0.5
	if strings.IndexFunc(key, func(r rune) bool { return r > unicode.MaxASCII }) < 0 {
		threshold = 0.6
	}
	for i, s := range c.systems {
		if !s.Active {
			continue
		}
		for _, w := range append([]string{s.Code, s.Name}, s.Aliases...) {
			if sim := similarity(q, []rune(trimGeneric(configs.FoldKey(w)))); sim >= threshold {
				best[i] = max(best[i], sim)
			}
		}
	}
	list := make([]near, 0, len(best))
	for i, sc := range best {
		list = append(list, near{i, sc})
	}
	slices.SortFunc(list, func(a, b near) int {
		if a.score != b.score {
			if a.score > b.score {
				return -1
			}
			return 1
		}
		return a.i - b.i
	})
	out := make([]string, 0, n)
	for _, x := range list[:min(n, len(list))] {
		out = append(out, c.systems[x.i].Name)
	}
	return out
}

// trimGeneric drops a trailing word that every system name may carry ("系统", "管理"),
// so "lsi系统" is compared as "lsi"; a word that is nothing else is kept.
func trimGeneric(w string) string {
	for _, suffix := range []string{"管理系统", "系统", "管理", "模块", "软件"} {
		if rest, ok := strings.CutSuffix(w, suffix); ok && utf8.RuneCountInString(rest) >= 2 {
			return rest
		}
	}
	return w
}

// similarity is 1 minus the edit distance (a swap of two neighbours counts as one
// edit) over the longer length, so "医宝" is 0.5 from "医保" and "lsi" 0.67 from "lis".
func similarity(a, b []rune) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return 1 - float64(d[len(a)][len(b)])/float64(max(len(a), len(b)))
}

func (c *Catalog) codes(idx []int) []string {
	out := make([]string, 0, len(idx))
	for _, i := range idx {
		out = append(out, c.systems[i].Code)
	}
	return out
}

// Match scores every system the text mentions, best first (ties in catalog order).
func (c *Catalog) Match(text string) []SystemMatch {
	t := normalize(text)
	return c.match(&t)
}

// Scoring. A word scores 10 per character, so a longer, more specific word outweighs a
// shorter one; the other numbers are chosen to stay below that step.
const (
	perRune       = 10
	typoPenalty   = 2  // a typing slip is a little less sure than the real word
	categoryScore = 10 // "HIS" says only "one of these", below any real alias
	explicitBonus = 8  // "住院" said in the sentence turns "收费" into 住院收费
	impliedBonus  = 6  // "5病区" implies 住院 a little less firmly
	contextAdjust = 4  // a system whose name fits the sentence's context is preferred
	extraHitBonus = 3  // each further word pointing at the same system
	maxExtraHits  = 3
	clearMargin   = 3  // the best must lead by this much to be "clearly meant"
	tieScore      = 20 // a place-only and a hint-only system asked about side by side
	placePenalty  = 15 // a place-only system against one named outright
	maxCandidates = 4  // more than this and asking with a list is no help
)

// Evidence classes of system words (term.class in the system dictionary).
const (
	evidenceStrong uint8 = iota // names the system: an alias, a learned phrase
	evidencePlace               // an alias that is also a place ("护士站", "收费处", "门诊药房")
	evidenceHint                // a thing many systems run on ("电脑", "打印机", "门诊系统")
)

// match does the work of Match on a normalized text. Besides the scores it applies
// rules about weak words, so a place or a device never outvotes what the reporter says
// is broken: a place-only system drops out when a general category (终端电脑, 网络 …) is
// named outright ("3楼护士站电脑蓝屏了" is the desktop, not the nursing system) and
// loses placePenalty against any other system named outright; a hint counts only when
// no system is named, and a hint against a place-only system is a tie to ask about
// ("护士站电脑打不开": the nursing system or the desktop?) unless the fault is plainly
// in the software.
func (c *Catalog) match(t *text) []SystemMatch {
	d := c.sysDict()
	hits := d.longest(t.compact)
	if len(hits) == 0 {
		return nil
	}
	type tally struct {
		best, count int
		word        hit
		last        int // 1 + index of the last hit counted, so one word counts once
		evidence    [3]bool
	}
	per := make([]tally, len(c.systems))
	for k, h := range hits {
		tm := &d.terms[h.term]
		add := func(i, score int) {
			p := &per[i]
			if !c.systems[i].Active {
				return
			}
			p.evidence[tm.class] = true
			if p.last != k+1 {
				p.count, p.last = p.count+1, k+1
			}
			if score > p.best {
				p.best, p.word = score, h
			}
		}
		base := 0
		switch tm.kind {
		case termAlias, termShared, termHint, termLearned:
			base = perRune * tm.runes
		case termVariant, termQualified:
			base = perRune*tm.runes - typoPenalty
		case termCategory:
			base = categoryScore
		default:
			continue
		}
		for _, i := range tm.owners {
			add(i, base)
		}
		// "收费" with 住院 elsewhere in the sentence is read as "住院收费".
		for bit := 0; bit < ctxKinds; bit++ {
			m := ctxMask(1) << bit
			if t.ctx&m == 0 {
				continue
			}
			bonus := impliedBonus
			if t.explicit&m != 0 {
				bonus = explicitBonus
			}
			for _, i := range tm.withCtx[bit] {
				add(i, perRune*tm.runes+bonus)
			}
		}
	}
	var named, generalNamed, placeOnly, hintOnly bool
	for i, p := range per {
		switch {
		case p.evidence[evidenceStrong]:
			named = true
			generalNamed = generalNamed || c.systems[i].General
		case p.evidence[evidencePlace]:
			placeOnly = true
		case p.evidence[evidenceHint]:
			hintOnly = true
		}
	}
	// A place and a device noun tie, unless the fault is plainly in the software
	// ("收费窗口的电脑提示数据库连接失败"): then the place's system is meant.
	tie := !named && placeOnly && hintOnly && !t.software
	hintsCount := !named && (!placeOnly || tie)
	var out []SystemMatch
	for i, p := range per {
		if p.count == 0 {
			continue
		}
		strong, place := p.evidence[evidenceStrong], p.evidence[evidencePlace]
		switch {
		case !strong && place && generalNamed:
			continue
		case !strong && !place && !hintsCount:
			continue
		}
		score := p.best + extraHitBonus*min(p.count-1, maxExtraHits)
		if !strong && named {
			// Where it happened is not what broke: "血库发血以后护士站看不到".
			score -= placePenalty
		}
		if t.ctx != 0 && c.inherent[i] != 0 {
			if t.ctx&c.inherent[i] != 0 {
				score += contextAdjust
			} else {
				score -= contextAdjust
			}
		}
		if tie && !strong {
			// A place against a device: neither outweighs the other.
			score = tieScore
		}
		out = append(out, SystemMatch{System: c.systems[i], Word: t.typed(p.word), Score: score, hintOnly: !strong && !place})
	}
	slices.SortStableFunc(out, func(a, b SystemMatch) int { return b.Score - a.Score })
	return out
}

// topGroup returns the matches too close to the best to tell apart.
func topGroup(ms []SystemMatch) []SystemMatch {
	n := 1
	for n < len(ms) && ms[0].Score-ms[n].Score < clearMargin {
		n++
	}
	return ms[:n]
}

// buildSystemDict indexes every word that can point at a system, then the learned
// phrases (folded phrase → system index) that are not already words. Order matters: a
// real name or alias is never displaced by a derived or a learned word.
func (c *Catalog) buildSystemDict(learned map[string]int) *dict {
	d := newDict()
	for i, s := range c.systems {
		if !s.Active {
			continue
		}
		if !slices.Contains(commonNames, s.Name) {
			d.add(s.Name, termAlias, i)
		}
		for _, a := range s.Aliases {
			if !slices.Contains(commonNames, a) {
				d.add(a, termAlias, i)
			}
		}
	}
	// "门诊" glued in front of an alias is still that alias ("门诊输液室", "门诊收费窗口"),
	// which matters when the glued form is also a department word that would otherwise
	// hide the alias. Only the system's own side of the hospital is glued on, so
	// "住院退费" is not made an outpatient-billing word.
	n := len(d.terms)
	for ti := 0; ti < n; ti++ {
		tm := d.terms[ti]
		if tm.kind != termAlias || len(tm.owners) != 1 || tm.asciiStart || startsWithContext(tm.word) {
			continue
		}
		own := c.inherent[tm.owners[0]]
		for _, p := range contextPrefixes {
			if own == 0 || own == p.ctx {
				d.addOwners(p.word+tm.word, termQualified, tm.owners)
			}
		}
	}
	// Department words claim their span, so the "检验" inside "检验科" is not read as
	// the lab system; an equal system alias ("手术室") keeps the system.
	for _, dep := range c.departments {
		d.add(dep.Name, termNeutral, -1)
		for _, a := range dep.Aliases {
			d.add(a, termNeutral, -1)
		}
	}
	for _, w := range neutralWords {
		d.add(w, termNeutral, -1)
	}
	// "门诊药房" and "住院药房" leave "药房" meaning either one.
	shared := map[string][]int{}
	var order []string
	for ti := range d.terms {
		tm := &d.terms[ti]
		if tm.kind != termAlias {
			continue
		}
		for _, p := range contextPrefixes {
			bare, ok := strings.CutPrefix(tm.word, p.word)
			if !ok || len([]rune(bare)) < 2 {
				continue
			}
			if _, seen := shared[bare]; !seen {
				order = append(order, bare)
			}
			shared[bare] = union(shared[bare], tm.owners)
			break
		}
	}
	for _, bare := range order {
		if owners := shared[bare]; len(owners) >= 2 {
			d.addOwners(bare, termShared, owners)
		}
	}
	keys := make([]string, 0, len(c.categories))
	for k := range c.categories {
		keys = append(keys, k)
	}
	sort.Strings(keys) // map order must not leak into the dictionary
	for _, k := range keys {
		d.addOwners(k, termCategory, c.categories[k])
	}
	addTypoVariants(d)
	for i, s := range c.systems {
		if !s.Active {
			continue
		}
		for _, h := range s.Hints {
			d.add(h, termHint, i)
		}
	}
	// An alias that is also a place is weaker evidence than one that names the system.
	for ti := range d.terms {
		tm := &d.terms[ti]
		switch {
		case tm.kind == termHint:
			tm.class = evidenceHint
		case tm.kind <= termVariant && c.isPlace(tm.word):
			tm.class = evidencePlace
		}
	}
	words := make([]string, 0, len(learned))
	for w := range learned {
		words = append(words, w)
	}
	sort.Strings(words)
	for _, w := range words {
		if _, ok := d.lookup(w); !ok {
			d.addOwners(w, termLearned, []int{learned[w]})
		}
	}
	d.linkContexts()
	return d
}

// isPlace reports whether a folded word is a place or a department on its own.
func (c *Catalog) isPlace(w string) bool {
	if t, ok := c.places.lookup(w); ok && t.class == placeStrong {
		return true
	}
	return slices.Contains(placeAliases, w)
}

// placeAliases are bare words people use for a room as often as for its system, but
// which are not places the location reader should cut out ("药房" in "药房系统").
var placeAliases = []string{"药房", "西药房", "中药房"}

// commonNames are catalog words too common in chat to name a system inside a sentence
// ("其他科室也这样"); they still work as an answer to "哪个系统？" through Resolve.
var commonNames = []string{"其他", "其它"}

// buildDepartmentDict indexes department names and aliases.
func (c *Catalog) buildDepartmentDict() *dict {
	d := newDict()
	for i, dep := range c.departments {
		d.add(dep.Name, termAlias, i)
		for _, a := range dep.Aliases {
			d.add(a, termAlias, i)
		}
	}
	d.linkContexts()
	return d
}

// addTypoVariants adds the common typing slips of every real word, slightly below it.
func addTypoVariants(d *dict) {
	n := len(d.terms)
	for ti := 0; ti < n; ti++ {
		tm := d.terms[ti]
		if tm.kind != termAlias && tm.kind != termShared {
			continue
		}
		for _, v := range typoVariants {
			if !strings.Contains(tm.word, v.right) || (tm.runes < 3 && !v.safeAlone) {
				continue
			}
			d.addOwners(strings.ReplaceAll(tm.word, v.right, v.typed), termVariant, tm.owners)
		}
	}
}

// ---- dictionary ----

// termKind says what a dictionary word is evidence of.
type termKind uint8

// Kinds, strongest first: on equal length an earlier kind claims the span.
const (
	termAlias     termKind = iota // a name or alias of exactly these owners
	termQualified                 // an alias with a context word glued in front ("门诊输液室")
	termShared                    // a bare word several systems share ("药房")
	termCategory                  // a category code: one of its systems
	termVariant                   // a typing slip of an alias
	termHint                      // a weak word: counts only when nothing names a system
	termLearned                   // a phrase learned from an engineer's correction
	termNeutral                   // means no system; only blocks shorter words inside it
)

// term is one dictionary word.
type term struct {
	word   string // folded form
	runes  int
	kind   termKind
	class  uint8 // free for the dictionary's user (the place dictionary's strong/weak)
	owners []int
	// withCtx[bit] are the owners of the same word with that context's prefix in front
	// ("收费" → 住院收费 → ADT), so the prefix rule needs no allocation at match time.
	withCtx    [ctxKinds][]int
	asciiStart bool // ASCII words must not be glued to other ASCII letters ("his" in "this")
	asciiEnd   bool
}

// dict is a rune trie over folded words.
type dict struct {
	root  *trieNode
	terms []term
}

type trieNode struct {
	next map[rune]*trieNode
	term int // index+1 into terms; 0 = no word ends here
}

func newDict() *dict { return &dict{root: &trieNode{}} }

// add indexes word for one owner (-1 for none).
func (d *dict) add(word string, kind termKind, owner int) {
	var owners []int
	if owner >= 0 {
		owners = []int{owner}
	}
	d.addOwners(configs.FoldKey(word), kind, owners)
}

// addOwners indexes an already folded word. A word already present keeps its stronger
// kind; two owners of the same kind are merged, so duplicate aliases that slipped past
// validation make the word ambiguous instead of picking one silently.
func (d *dict) addOwners(key string, kind termKind, owners []int) {
	if key == "" {
		return
	}
	n := d.root
	for _, r := range key {
		if n.next == nil {
			n.next = map[rune]*trieNode{}
		}
		child, ok := n.next[r]
		if !ok {
			child = &trieNode{}
			n.next[r] = child
		}
		n = child
	}
	if n.term != 0 {
		tm := &d.terms[n.term-1]
		switch {
		case kind < tm.kind:
			tm.kind, tm.owners = kind, append([]int(nil), owners...)
		case kind == tm.kind:
			tm.owners = union(tm.owners, owners)
		}
		return
	}
	rs := []rune(key)
	d.terms = append(d.terms, term{
		word:       key,
		runes:      len(rs),
		kind:       kind,
		owners:     append([]int(nil), owners...),
		asciiStart: isASCIILetter(rs[0]),
		asciiEnd:   isASCIILetter(rs[len(rs)-1]),
	})
	n.term = len(d.terms)
}

// lookup finds a folded word exactly.
func (d *dict) lookup(key string) (*term, bool) {
	n := d.root
	for _, r := range key {
		child, ok := n.next[r]
		if !ok {
			return nil, false
		}
		n = child
	}
	if n.term == 0 {
		return nil, false
	}
	return &d.terms[n.term-1], true
}

// linkContexts precomputes, for every word, the owners of the word with a context
// prefix in front.
func (d *dict) linkContexts() {
	for ti := range d.terms {
		tm := &d.terms[ti]
		if tm.kind == termNeutral || tm.kind == termCategory {
			continue
		}
		for _, p := range contextPrefixes {
			other, ok := d.lookup(p.word + tm.word)
			if !ok || other.kind == termNeutral || other.kind == termCategory {
				continue
			}
			bit := p.ctx.bit()
			tm.withCtx[bit] = union(tm.withCtx[bit], other.owners)
		}
	}
}

// hit is one occurrence of a dictionary word in a folded text, in rune offsets.
type hit struct {
	start, end int
	term       int
}

// all returns every occurrence of every word, overlapping ones included.
func (d *dict) all(s []rune, out []hit) []hit {
	for i := range s {
		n := d.root
		for j := i; j < len(s); j++ {
			child, ok := n.next[s[j]]
			if !ok {
				break
			}
			n = child
			if n.term == 0 {
				continue
			}
			tm := &d.terms[n.term-1]
			if tm.asciiStart && i > 0 && isASCIILetter(s[i-1]) {
				continue
			}
			if tm.asciiEnd && j+1 < len(s) && isASCIILetter(s[j+1]) {
				continue
			}
			out = append(out, hit{start: i, end: j + 1, term: n.term - 1})
		}
	}
	return out
}

// longest keeps the longest words that do not overlap, so "医技收费" hides the
// "收费" inside it; the result is in text order.
func (d *dict) longest(s []rune) []hit {
	var buf [32]hit
	hits := d.all(s, buf[:0])
	if len(hits) <= 1 {
		return append([]hit(nil), hits...)
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if la, lb := a.end-a.start, b.end-b.start; la != lb {
			return lb - la
		}
		if ka, kb := d.terms[a.term].kind, d.terms[b.term].kind; ka != kb {
			return int(ka) - int(kb)
		}
		return a.start - b.start
	})
	// One flag per rune keeps this linear; long pasted logs must not stall the bot.
	var small [256]bool
	var taken []bool
	if len(s) <= len(small) {
		taken = small[:len(s)]
	} else {
		taken = make([]bool, len(s))
	}
	kept := make([]hit, 0, len(hits))
	for _, h := range hits {
		if slices.Contains(taken[h.start:h.end], true) {
			continue
		}
		for i := h.start; i < h.end; i++ {
			taken[i] = true
		}
		kept = append(kept, h)
	}
	slices.SortFunc(kept, func(a, b hit) int { return a.start - b.start })
	return kept
}

// ---- text ----

// text is a message prepared for matching.
type text struct {
	display  []rune // width-folded, original case: what locations are cut from
	lower    []rune // display with ASCII lower-cased; same length
	compact  []rune // lower without spaces, punctuation, symbols and [表情] codes
	at       []int  // compact index → display index
	emoji    bool   // the message had emoji or [表情] codes
	ctx      ctxMask
	explicit ctxMask // contexts said outright (门诊, 住院), not just implied (病区)
	software bool    // a word says the fault is in a program ("提示", "报错")
}

// normalize folds the message once for all the matchers.
func normalize(s string) text {
	rs := []rune(s)
	t := text{display: make([]rune, len(rs)), lower: make([]rune, len(rs))}
	t.compact = make([]rune, 0, len(rs))
	t.at = make([]int, 0, len(rs))
	for i, r := range rs {
		// Full-width forms become ASCII but keep their case for display.
		switch {
		case r >= '！' && r <= '～':
			r -= '！' - '!'
		case r == '\u3000':
			r = ' '
		}
		t.display[i] = r
		t.lower[i] = configs.FoldRune(r)
	}
	for i := 0; i < len(t.lower); i++ {
		r := t.lower[i]
		// WeCom sends stickers as "[抱拳]"; they say nothing about a fault.
		if r == '[' {
			if j := closingBracket(t.lower, i); j > 0 {
				t.emoji = true
				i = j
				continue
			}
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			t.compact = append(t.compact, r)
			t.at = append(t.at, i)
		} else if r > 0x2000 && (unicode.Is(unicode.So, r) || unicode.Is(unicode.Sk, r) || r == 0xFE0F) {
			t.emoji = true
		}
	}
	t.ctx, t.explicit = detectContext(t.compact)
	t.software = len(softwareDict.all(t.compact, nil)) > 0
	return t
}

// closingBracket returns the index of the "]" closing a short sticker code at i, or -1.
func closingBracket(rs []rune, i int) int {
	for j := i + 1; j < len(rs) && j <= i+5; j++ {
		switch {
		case rs[j] == ']':
			if j > i+1 {
				return j
			}
			return -1
		case !unicode.IsLetter(rs[j]):
			return -1
		}
	}
	return -1
}

// typed returns the words of a hit as the reporter wrote them.
func (t *text) typed(h hit) string {
	if h.end <= h.start || h.end > len(t.at) {
		return ""
	}
	return string(t.display[t.at[h.start] : t.at[h.end-1]+1])
}

// ---- context ----

// ctxMask is a set of the contexts that tell twin systems apart: outpatient (门诊,
// 急诊), inpatient (住院) and medical technology (医技).
type ctxMask uint8

const (
	ctxOut ctxMask = 1 << iota
	ctxIn
	ctxTech
	ctxKinds = 3
)

func (m ctxMask) bit() int {
	for b := 0; b < ctxKinds; b++ {
		if m == 1<<b {
			return b
		}
	}
	return 0
}

// nameContext is the context a system's name belongs to, from the first context word
// in it ("门急诊挂号" → 门诊, "出入院管理" → 住院).
func nameContext(name string) ctxMask {
	bestAt, best := -1, ctxMask(0)
	for _, w := range contextWords {
		if i := strings.Index(name, w.word); i >= 0 && (bestAt < 0 || i < bestAt) {
			bestAt, best = i, w.ctx
		}
	}
	return best
}

// detectContext finds the contexts a message mentions or implies.
func detectContext(s []rune) (all, explicit ctxMask) {
	for _, h := range contextDict.all(s, nil) {
		w := contextWords[contextDict.terms[h.term].owners[0]]
		all |= w.ctx
		if w.explicit {
			explicit |= w.ctx
		}
	}
	// "12床" is a bed on a ward.
	for i := 1; i < len(s); i++ {
		if s[i] == '床' && isNumeral(s[i-1]) {
			all |= ctxIn
		}
	}
	return all, explicit
}

var contextDict = func() *dict {
	d := newDict()
	for i, w := range contextWords {
		d.add(w.word, termAlias, i)
	}
	return d
}()

// ---- small helpers ----

// startsWithContext reports whether a folded word already begins with a context prefix.
func startsWithContext(w string) bool {
	for _, p := range contextPrefixes {
		if strings.HasPrefix(w, p.word) {
			return true
		}
	}
	return false
}

func union(a, b []int) []int {
	out := append([]int(nil), a...)
	for _, x := range b {
		found := false
		for _, y := range out {
			if x == y {
				found = true
				break
			}
		}
		if !found {
			out = append(out, x)
		}
	}
	sort.Ints(out)
	return out
}

func isASCIILetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

func isNumeral(r rune) bool {
	return r >= '0' && r <= '9' || strings.ContainsRune("一二三四五六七八九十百零两", r)
}

// SyncCatalog makes the systems and departments tables match the catalog
// files: new entries are added, changed ones updated, and systems no longer
// listed become inactive (old tickets still name them).
func (s *Store) SyncCatalog(ctx context.Context, systems []System, departments []Department) error {
	return s.Update(ctx, func(tx *Tx) error {
		if err := tx.startupLock(); err != nil {
			return err
		}
		listed := map[string]bool{}
		for _, sys := range systems {
			listed[sys.Code] = true
			sys.Active = true
			if sys.Aliases == nil {
				sys.Aliases = []string{}
			}
			if err := tx.db.Save(&sys).Error; err != nil {
				return wrap("sync systems", err)
			}
		}
		var all []System
		if err := tx.db.Find(&all).Error; err != nil {
			return wrap("sync systems", err)
		}
		for _, sys := range all {
			if !listed[sys.Code] && sys.Active {
				if err := tx.db.Model(&System{}).Where("code = ?", sys.Code).Update("active", false).Error; err != nil {
					return wrap("sync systems", err)
				}
			}
		}
		for _, d := range departments {
			if d.Aliases == nil {
				d.Aliases = []string{}
			}
			err := tx.db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "name"}}, DoUpdates: clause.AssignmentColumns([]string{"aliases", "location"})}).
				Omit("id").Create(&d).Error
			if err != nil {
				return wrap("sync departments", err)
			}
		}
		return nil
	})
}
