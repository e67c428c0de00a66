package server

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/server/locale"
)

// The console's Quality page (issue 19): rates by batch with flagged
// batches marked, the monthly trend, the top findings and parts. Charts
// are SVG drawn here (geometry computed in Go, written by the template
// as elements and attributes: no script, no inline style, so the
// console's CSP stays as strict as it is), each with its numbers in a
// table beside it.

// chartBars is the most bars a chart draws; the table beside it lists
// every row.
const chartBars = 15

// qualityBody is the Quality page.
type qualityBody struct {
	Models                  []policy.Model
	SKU, From, To           string
	Err                     *policy.Error
	Batches, Months         []registry.QualityRow
	Findings                registry.FindingsReport
	BatchChart, TrendChart  chart
	FindingChart, PartChart chart
	Flagged                 int
}

// chart is a bar chart as the template draws it, in a viewBox of W × H.
type chart struct {
	W, H int
	Bars []chartBar
	// Axis is the value of the chart's full width (or height), shown as
	// its scale.
	Axis string
	// Vertical bars (the trend) rather than horizontal ones.
	Vertical bool
	// Base is the y of the vertical chart's baseline.
	Base float64
}

// chartBar is one bar: its label, its value as shown, its rectangle, and
// where its label and value are written.
type chartBar struct {
	Label, Value           string
	X, Y, W, H             float64
	LabelX, LabelY, ValueX float64
	ValueY                 float64
	Flagged                bool
}

// hbars draws horizontal bars, one row per item: a label column, then the
// bar, then its value. The chart is 380 units wide: a phone's card (about
// 330 px) shrinks it little, so its 12-unit text stays readable there.
func hbars(labels []string, values []float64, shown []string, flagged []bool) chart {
	const labelW, barW, valueW, row, pad = 150.0, 170.0, 60.0, 24.0, 6.0
	top := max(slices.Max(append([]float64{0}, values...)), 1e-9)
	c := chart{W: int(labelW + barW + valueW), H: int(row*float64(len(labels)) + pad), Axis: strconv.FormatFloat(top, 'f', -1, 64)}
	for i, l := range labels {
		y := pad/2 + row*float64(i)
		w := barW * values[i] / top
		b := chartBar{Label: l, Value: shown[i], X: labelW, Y: y + 3, W: round1(w), H: row - 8,
			LabelX: labelW - 8, LabelY: y + row/2 + 4, ValueX: round1(labelW + w + 6), ValueY: y + row/2 + 4}
		if flagged != nil {
			b.Flagged = flagged[i]
		}
		c.Bars = append(c.Bars, b)
	}
	return c
}

// vbars draws vertical bars left to right (months), labels below, 64
// units a month (280 to 840 in all): a few months fit a phone's card at
// full size; a long range scrolls sideways in its box (see the template)
// rather than shrinking its labels out of sight.
func vbars(labels []string, values []float64, shown []string) chart {
	const h, bottom, topPad = 220.0, 28.0, 20.0
	w := min(max(64*float64(len(labels)), 280), 840)
	top := max(slices.Max(append([]float64{0}, values...)), 1e-9)
	c := chart{W: int(w), H: int(h), Axis: strconv.FormatFloat(top, 'f', -1, 64), Vertical: true, Base: h - bottom}
	n := float64(max(len(labels), 1))
	slot := w / n
	for i, l := range labels {
		bh := (h - bottom - topPad) * values[i] / top
		x := slot*float64(i) + slot*0.2
		c.Bars = append(c.Bars, chartBar{Label: l, Value: shown[i], X: round1(x), Y: round1(h - bottom - bh), W: round1(slot * 0.6), H: round1(bh),
			LabelX: round1(x + slot*0.3), LabelY: h - 8, ValueX: round1(x + slot*0.3), ValueY: round1(h - bottom - bh - 5)})
	}
	return c
}

func round1(v float64) float64 { return float64(int(v*10+0.5)) / 10 }

func per1000Text(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// consoleQuality shows the Quality page for ?sku=&from=&to= (months).
// Codes: 200; 404 for an unknown model and 422 for bad months, with the
// form again and the problem named.
func (s *Server) consoleQuality(c echo.Context) error {
	b := qualityBody{SKU: c.QueryParam("sku"), From: c.QueryParam("from"), To: c.QueryParam("to")}
	ms, err := s.db.Models()
	if err != nil {
		return err
	}
	b.Models = ms
	q := registry.ReportQuery{SKU: b.SKU, From: b.From, To: b.To}
	status := http.StatusOK
	fail := func(err error) error {
		pe, st, ok := refused(err)
		if !ok {
			return err
		}
		b.Err, status = pe, st
		return nil
	}
	q.By = registry.ByBatch
	if b.Batches, err = s.db.QualityReport(q); err != nil {
		if err := fail(err); err != nil {
			return err
		}
	}
	if b.Err == nil {
		q.By = registry.ByMonth
		months, err := s.db.QualityReport(q)
		if err != nil {
			return err
		}
		for _, m := range months {
			if m.Key != registry.NoReceipt {
				b.Months = append(b.Months, m)
			}
		}
		q.By = ""
		if b.Findings, err = s.db.FindingsReport(q); err != nil {
			return err
		}
	}
	b.draw(s.lang(c))
	return s.render(c, status, "quality.html", page{Title: "console.nav.quality", Nav: "quality", Body: b})
}

// draw lays out the charts: batches by rate, highest first (flagged ones
// first among equals), at most chartBars; every month in order; the top
// findings and parts.
func (b *qualityBody) draw(l *locale.Lang) {
	byRate := slices.Clone(b.Batches)
	slices.SortStableFunc(byRate, func(x, y registry.QualityRow) int {
		if x.Flagged != y.Flagged {
			if x.Flagged {
				return -1
			}
			return 1
		}
		return cmp.Compare(y.Per1000, x.Per1000)
	})
	for _, r := range b.Batches {
		if r.Flagged {
			b.Flagged++
		}
	}
	byRate = byRate[:min(len(byRate), chartBars)]
	var labels, shown []string
	var values []float64
	var flagged []bool
	for _, r := range byRate {
		labels, values, shown, flagged = append(labels, r.Key), append(values, r.Per1000), append(shown, per1000Text(r.Per1000)), append(flagged, r.Flagged)
	}
	b.BatchChart = hbars(labels, values, shown, flagged)
	labels, values, shown = nil, nil, nil
	for _, r := range b.Months {
		labels, values, shown = append(labels, r.Key), append(values, r.Per1000), append(shown, per1000Text(r.Per1000))
	}
	b.TrendChart = vbars(labels, values, shown)
	count := func(list []registry.FindingCount, word func(string) string) chart {
		list = list[:min(len(list), 8)]
		var labels, shown []string
		var values []float64
		for _, f := range list {
			labels, values, shown = append(labels, word(f.Name)), append(values, float64(f.Count)), append(shown, strconv.FormatInt(f.Count, 10))
		}
		return hbars(labels, values, shown, nil)
	}
	b.FindingChart = count(b.Findings.Findings, func(s string) string { return words(l, s) })
	b.PartChart = count(b.Findings.Parts, func(s string) string { return s })
}
