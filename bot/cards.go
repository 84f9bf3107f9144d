package bot

// TextCard is WeCom's textcard message: a title, a short description (a
// little HTML: <div class="gray|normal|highlight">) and a link.
type TextCard struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	URL         string `json:"url"`
	ButtonText  string `json:"btntxt,omitempty"`
}

// TemplateCard is a button_interaction template card: a title, a few
// key/value lines and up to six buttons whose clicks come back as
// template_card_event callbacks carrying TaskID and the button's Key.
type TemplateCard struct {
	// CardType defaults to button_interaction.
	CardType string `json:"card_type"`
	// Source is the small caption above the title (e.g. "运维服务台").
	Source *CardSource `json:"source,omitempty"`
	// MainTitle or SubTitleText must be set.
	MainTitle    CardTitle `json:"main_title"`
	SubTitleText string    `json:"sub_title_text,omitempty"`
	// HorizontalContentList holds at most six key/value lines.
	HorizontalContentList []CardKeyValue `json:"horizontal_content_list,omitempty"`
	// TaskID is unique per app (letters, digits, _-@; at most 128 bytes);
	// WeCom refuses a second card with the same TaskID.
	TaskID string `json:"task_id"`
	// ButtonList holds one to six buttons.
	ButtonList []CardButton `json:"button_list"`
	// ReplaceText, when set, is what a clicked button turns into.
	ReplaceText string `json:"replace_text,omitempty"`
}

// CardSource is the caption line of a template card.
type CardSource struct {
	IconURL   string `json:"icon_url,omitempty"`
	Desc      string `json:"desc,omitempty"`
	DescColor int    `json:"desc_color,omitempty"` // 0 grey, 1 black, 2 red, 3 green
}

// CardTitle is a template card's title and its secondary line.
type CardTitle struct {
	Title string `json:"title,omitempty"`
	Desc  string `json:"desc,omitempty"`
}

// CardKeyValue is one line of horizontal_content_list.
type CardKeyValue struct {
	KeyName string `json:"keyname"`
	Value   string `json:"value,omitempty"`
}

// CardButton is one button of a button_interaction card.
type CardButton struct {
	Text string `json:"text"`
	// Style is 1 (blue), 2 (grey), 3 (red) or 4 (white); 0 lets WeCom pick.
	Style int `json:"style,omitempty"`
	// Key comes back as EventKey when the button is clicked.
	Key string `json:"key"`
}

// Button styles WeCom knows.
const (
	ButtonBlue  = 1
	ButtonGrey  = 2
	ButtonRed   = 3
	ButtonWhite = 4
)

// The request bodies. agentid is a JSON number: the SDK's SendRequestCommon
// has it as a string, and WeCom's documentation asks for an integer.
type (
	contentBody struct {
		Content string `json:"content"`
	}

	appMessage struct {
		ToUser       string        `json:"touser"`
		MsgType      string        `json:"msgtype"`
		AgentID      int           `json:"agentid"`
		Text         *contentBody  `json:"text,omitempty"`
		Markdown     *contentBody  `json:"markdown,omitempty"`
		TextCard     *TextCard     `json:"textcard,omitempty"`
		TemplateCard *TemplateCard `json:"template_card,omitempty"`
		File         *mediaBody    `json:"file,omitempty"`
	}

	chatMessage struct {
		ChatID   string       `json:"chatid"`
		MsgType  string       `json:"msgtype"`
		Text     *contentBody `json:"text,omitempty"`
		Markdown *contentBody `json:"markdown,omitempty"`
		TextCard *TextCard    `json:"textcard,omitempty"`
		File     *mediaBody   `json:"file,omitempty"`
	}

	mediaBody struct {
		MediaID string `json:"media_id"`
	}

	robotMessage struct {
		MsgType  string       `json:"msgtype"`
		Text     *contentBody `json:"text,omitempty"`
		Markdown *contentBody `json:"markdown,omitempty"`
	}

	updateCardRequest struct {
		UserIDs      []string      `json:"userids,omitempty"`
		AtAll        int           `json:"atall,omitempty"`
		AgentID      int           `json:"agentid"`
		ResponseCode string        `json:"response_code"`
		Button       *updateButton `json:"button,omitempty"`
		TemplateCard *TemplateCard `json:"template_card,omitempty"`
	}

	updateButton struct {
		ReplaceName string `json:"replace_name"`
	}

	createChatRequest struct {
		Name     string   `json:"name"`
		Owner    string   `json:"owner,omitempty"`
		UserList []string `json:"userlist"`
	}
)
