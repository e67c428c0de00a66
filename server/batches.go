package server

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/registry"
)

// getBatch answers a page of a batch: the serials registered in it and the
// products whose bundled accessories come from it (for recalls and for
// checking a batch number at the desk), ?after=SERIAL&limit=N (N ≤ 1000,
// default 100); count and carriers are the batch's totals; "next" is the cursor of the next page, null on the last;
// "notice" the batch's notice (recall or advisory), null when it has none.
// Codes: 200; 400 (malformed batch, after or limit); 401; 403; 404.
func (s *Server) getBatch(c echo.Context) error {
	p, err := s.batchPage(c)
	if err != nil {
		return err
	}
	n, err := s.batchNotice(p.Batch)
	if err != nil {
		return err
	}
	out := struct {
		Batch     string      `json:"batch"`
		Count     int         `json:"count"`
		Carriers  int         `json:"carriers"`
		Serials   []string    `json:"serials"`
		CarriedBy []string    `json:"carried_by"`
		Next      nullString  `json:"next"`
		Notice    *noticeView `json:"notice"`
	}{p.Batch, p.Count, p.Carriers, nonNil(p.Serials), nonNil(p.CarriedBy), nullString(p.Next), nil}
	if n != nil {
		v := s.noticeView(*n)
		out.Notice = &v
	}
	return c.JSON(http.StatusOK, out)
}

// batchPage reads the page of the batch in the path that ?after= and
// ?limit= ask for. Errors: EInvalid (400) for a malformed batch, after or
// limit; ENotFound.
func (s *Server) batchPage(c echo.Context) (registry.BatchPage, error) {
	batch, err := identParam(c, "batch")
	if err != nil {
		return registry.BatchPage{}, err
	}
	after, err := queryIdent(c, "after")
	if err != nil {
		return registry.BatchPage{}, err
	}
	limit, err := queryLimit(c, registry.DefaultLimit, registry.MaxLimit)
	if err != nil {
		return registry.BatchPage{}, err
	}
	return s.db.Batch(batch, after, limit)
}

// listBatches answers every batch with its member and carrier counts:
// {"batches": [{"batch", "count", "carriers"}]}. Codes: 200; 401; 403.
func (s *Server) listBatches(c echo.Context) error {
	bs, err := s.db.Batches()
	if err != nil {
		return err
	}
	type batchView struct {
		Batch    string `json:"batch"`
		Count    int    `json:"count"`
		Carriers int    `json:"carriers"`
	}
	out := struct {
		Batches []batchView `json:"batches"`
	}{make([]batchView, len(bs))}
	for i, b := range bs {
		out.Batches[i] = batchView{b.Batch, b.Count, b.Carriers}
	}
	return c.JSON(http.StatusOK, out)
}

// nonNil makes a nil list an empty JSON array.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
