package policy

import "slices"

// AccessoriesOnRecord is item's bundled accessories as they stand after
// every event of history: each with the batch of its latest exchange (the
// one in the customer's hands), as a reprinted certificate must show it.
func (p *Policy) AccessoriesOnRecord(item Item, history []Event) []Accessory {
	if len(item.Accessories) == 0 {
		return nil
	}
	f := facts{noParts: true}
	p.derive(&item, history, lastDate, lastDate, &f)
	out := slices.Clone(item.Accessories)
	for i := range f.acc {
		out[i].Batch = f.acc[i].Batch
	}
	return out
}
