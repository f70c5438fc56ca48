package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// CACRow is the cost and return of one channel or campaign.
type CACRow struct {
	Channel  string  `json:"channel"`
	Campaign string  `json:"campaign,omitempty"`
	Spend    float64 `json:"spend"`
	// NewCustomers is the attributed credit of first conversions: fractional customers.
	NewCustomers float64 `json:"new_customers"`
	// CAC is Spend / NewCustomers, null when no customer is attributed or no spend is known.
	CAC NullFloat `json:"cac"`
	// Value is the attributed value of all counted conversions.
	Value float64 `json:"value"`
	// ROAS is Value / Spend, null when there is no spend.
	ROAS NullFloat `json:"roas"`
}

// CACChannel is a channel's row with its campaigns' rows.
type CACChannel struct {
	CACRow
	Campaigns []CACRow `json:"campaigns,omitempty"`
}

// CACReport is the CAC and ROAS report.
type CACReport struct {
	Model    Model        `json:"model"`
	Currency string       `json:"currency"`
	Spend    float64      `json:"spend"`
	Channels []CACChannel `json:"channels"`
}

// BuildCAC attributes the journeys' counted conversions for CAC (see CACAttributions) and
// sets them against the spend of the period (see CAC).
func BuildCAC(js []Journey, spend []Spend, po PathOptions, ao AttributionOptions) (*CACReport, error) {
	nc, value, err := CACAttributions(po, ao, func(po PathOptions, ao AttributionOptions) (*Attribution, error) {
		return AttributeJourneys(js, po, ao)
	})
	if err != nil {
		return nil, fmt.Errorf("cac: %w", err)
	}
	return CAC(spend, nc, value, po.From, po.To)
}

// CACAttributions attributes conversions twice with attribute and the same model: the first
// conversion of each visitor, for new customers, and all conversions, for value. attribute
// is AttributeJourneys over some journeys, or a cache of its results.
func CACAttributions(po PathOptions, ao AttributionOptions, attribute func(PathOptions, AttributionOptions) (*Attribution, error)) (newCustomers, value *Attribution, err error) {
	first, all := po, po
	first.FirstOnly, all.FirstOnly = true, false
	if newCustomers, err = attribute(first, ao); err != nil {
		return nil, nil, err
	}
	if value, err = attribute(all, ao); err != nil {
		return nil, nil, err
	}
	return newCustomers, value, nil
}

// CAC sets spend against attribution per channel and campaign: CAC = spend / attributed new
// customers, ROAS = attributed value / spend, each null when its denominator is zero. Spend
// counts when its day (00:00 UTC) falls in [from, to); channel and campaign names match
// regardless of case. All spend in the period must be in one currency.
func CAC(spend []Spend, newCustomers, value *Attribution, from, to int64) (*CACReport, error) {
	if to <= from {
		return nil, fmt.Errorf("cac: period: to (%d) must be after from (%d)", to, from)
	}
	res := &CACReport{Model: newCustomers.Model}
	type key struct{ ch, camp string }
	rows := make(map[key]*CACRow)
	var order []key
	row := func(ch, camp string) *CACRow {
		k := key{strings.ToLower(ch), strings.ToLower(camp)}
		r := rows[k]
		if r == nil {
			r = &CACRow{Channel: ch, Campaign: camp}
			rows[k] = r
			order = append(order, k)
		}
		return r
	}
	// Attribution first, so that its spelling of names wins.
	for _, c := range newCustomers.Channels {
		row(c.Channel, "").NewCustomers += c.Conversions
		for _, cc := range c.Campaigns {
			row(c.Channel, cc.Campaign).NewCustomers += cc.Conversions
		}
	}
	for _, c := range value.Channels {
		row(c.Channel, "").Value += c.Value
		for _, cc := range c.Campaigns {
			row(c.Channel, cc.Campaign).Value += cc.Value
		}
	}
	currency := ""
	for i, s := range spend {
		day := s.Date.UnixMilli()
		if day < from || day >= to {
			continue
		}
		if currency == "" {
			currency = s.Currency
		} else if s.Currency != currency {
			return nil, fmt.Errorf("cac: spend row %d: currency %q differs from %q: convert spend to one currency", i+1, s.Currency, currency)
		}
		camp := s.Campaign
		if camp == "" {
			camp = NotSet
		}
		row(s.Channel, "").Spend += s.Amount
		row(s.Channel, camp).Spend += s.Amount
		res.Spend += s.Amount
	}
	res.Currency = currency
	chans := make(map[string]*CACChannel)
	for _, k := range order {
		r := rows[k]
		if r.Spend > 0 {
			r.CAC = ratio(r.Spend, r.NewCustomers) // no spend known: no cost to divide, not a cost of 0
		}
		r.ROAS = ratio(r.Value, r.Spend)
		if k.camp == "" {
			chans[k.ch] = &CACChannel{CACRow: *r}
		}
	}
	for _, k := range order {
		if k.camp != "" {
			c := chans[k.ch]
			c.Campaigns = append(c.Campaigns, *rows[k])
		}
	}
	res.Channels = make([]CACChannel, 0, len(chans))
	for _, c := range chans {
		slices.SortFunc(c.Campaigns, func(a, b CACRow) int { return compareCAC(&a, &b) })
		res.Channels = append(res.Channels, *c)
	}
	slices.SortFunc(res.Channels, func(a, b CACChannel) int { return compareCAC(&a.CACRow, &b.CACRow) })
	return res, nil
}

// compareCAC orders rows by spend, then value, descending, then by name.
func compareCAC(a, b *CACRow) int {
	if c := cmp.Compare(b.Spend, a.Spend); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Value, a.Value); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Channel, b.Channel); c != 0 {
		return c
	}
	return cmp.Compare(a.Campaign, b.Campaign)
}
