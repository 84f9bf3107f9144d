package models

// TEMPORARY until the intake branch lands.
type System struct{ Code, Name, Category string }
type Catalog struct{}

func (c *Catalog) System(code string) (System, bool) { return System{}, false }
func (c *Catalog) Resolve(token string) []string      { return []string{token} }

type Recognition struct {
	System      *System
	Candidates  []System
	Location    string
	Department  string
	Kind        Kind
	Priority    Priority
	PriorityWhy string
	FaultLike   bool
	SmallTalk   bool
}

func (c *Catalog) Recognize(text string) Recognition { return Recognition{FaultLike: true, Kind: KindFault, Priority: PriorityMedium} }
