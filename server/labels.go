package server

// The label endpoints: one certificate (GET /api/v1/items/{serial}/label)
// and one file of many (POST /api/v1/labels). Drawing is the labels
// package's; this file picks the records, the check URL and the secret, and
// moves the bytes.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/labels"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/server/locale"
)

// MaxLabels is the most labels one POST /api/v1/labels makes: about 10 MB of
// ZPL or 477 A4 sheets, a day's run of one printer. A larger batch is
// printed in parts by listing its serials (GET /api/v1/batches/{batch} pages
// them).
const MaxLabels = 10000

// labelPage is how many batch entries one registry read covers while a file
// is built: each page is one short read transaction, and each item is read
// in its own, so a 10,000-label job never holds the file open.
const labelPage = 500

// maxLabelFaults is where a job stops checking once labels cannot be
// printed: the first ones say why and name a size that fits, and rendering
// the rest of 10,000 just to list them would cost seconds for nothing.
const maxLabelFaults = 100

// zplContentType is the media type of ZPL answers. ZPL II is plain text and
// no media type is registered for it; text/plain opens in any browser or
// editor and goes to a printer unchanged (curl … | nc printer 9100).
const zplContentType = "text/plain; charset=utf-8"

// labelFormat is one file format of a label download.
type labelFormat struct {
	ext, contentType string
	// single renders one certificate on one label (labels.PNG, PDF; ZPL
	// through zplLabel, for its font).
	single func(io.Writer, labels.Certificate, labels.Size, int) error
}

var labelFormats = map[string]labelFormat{
	"png": {"png", "image/png", labels.PNG},
	"zpl": {"zpl", zplContentType, nil},
	"pdf": {"pdf", "application/pdf", labels.PDF},
}

// zplLabel renders one certificate as ZPL with text beyond Latin-1 in the
// printer font font.
func zplLabel(font string) func(io.Writer, labels.Certificate, labels.Size, int) error {
	return func(w io.Writer, c labels.Certificate, size labels.Size, dpi int) error {
		z, err := labels.NewZPLBatch(w, size, dpi)
		if err != nil {
			return err
		}
		z.Font = font
		return z.Add(c)
	}
}

// zplFont is the printer font a label request asks for (font, "" when not
// given), or the server's (Config.ZPLFont). zpl says whether the format is
// ZPL: the font of another format would be silently ignored, so it is
// refused. Errors: EInvalid naming "font".
func (s *Server) zplFont(font string, zpl bool) (string, error) {
	font = strings.TrimSpace(font)
	switch {
	case font == "":
		return s.cfg.ZPLFont, nil
	case !zpl:
		return "", policy.Errorf(policy.EInvalid, "font", "font applies to zpl: PNG and PDF labels carry their own fonts")
	}
	return font, labels.CheckPrinterFont(font)
}

// itemLabel renders one certificate, for a reprint: ?format=png (default),
// zpl or pdf (a page the size of the label); ?dpi=203|300 (default 203);
// ?size=50x30 (default; see labels.Sizes); for zpl, ?font=E:ANMDJ.TTF (the
// printer font of text beyond Latin-1; default Config.ZPLFont); ?lang=en for
// English words (Chinese by default). The check URL is under
// Config.PublicURL or, when that is empty, under the scheme and host this
// request came to (see certificate).
// Codes: 200 (attachment label-SERIAL.EXT); 400 (malformed serial, format,
// dpi, size or font, naming the parameter); 401; 403; 404; 422 (the certificate
// does not fit the size: the message names a size that fits).
func (s *Server) itemLabel(c echo.Context) error {
	serial, err := identParam(c, "serial")
	if err != nil {
		return err
	}
	name := strings.ToLower(strings.TrimSpace(c.QueryParam("format")))
	if name == "" {
		name = "png"
	}
	f, ok := labelFormats[name]
	if !ok {
		return paramErrorf("format", "format must be png, zpl or pdf, not %q", c.QueryParam("format"))
	}
	size, dpi, err := printer(c)
	if err != nil {
		return err
	}
	font, err := s.zplFont(c.QueryParam("font"), f.ext == "zpl")
	if err != nil {
		return badParam("font", err)
	}
	render := f.single
	if f.ext == "zpl" {
		render = zplLabel(font)
	}
	rec, err := s.db.Get(serial)
	if err != nil {
		return err
	}
	m, err := modelCache{}.get(s.db, rec.Item)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := render(&buf, s.labelCertificate(c, m, rec), size, dpi); err != nil {
		return err
	}
	return download(c, f.contentType, "label-"+serial+"."+f.ext, buf.Bytes())
}

// modelCache keeps the models a job has read: a batch has one or two.
type modelCache map[string]policy.Model

// get is the model of item it. A registered item's model always exists, so
// its absence is an internal error, not the client's 404.
func (mc modelCache) get(db registry.ModelStore, it policy.Item) (policy.Model, error) {
	if m, ok := mc[it.SKU]; ok {
		return m, nil
	}
	m, err := db.Model(it.SKU)
	if policy.ErrorCode(err) == policy.ENotFound {
		return m, fmt.Errorf("model %s of serial %s is missing: %w", it.SKU, it.Serial, err)
	}
	if err != nil {
		return m, err
	}
	mc[it.SKU] = m
	return m, nil
}

// labelsInput is the body of POST /api/v1/labels.
type labelsInput struct {
	Batch   string   `json:"batch"`
	Serials []string `json:"serials"`
	Format  string   `json:"format"`
	Size    string   `json:"size"`
	DPI     int      `json:"dpi"`
	Font    string   `json:"font"`
}

// labelJob is a checked POST /api/v1/labels request.
type labelJob struct {
	format labelFormat
	size   labels.Size // zpl and png only
	dpi    int         // zpl and png only
	font   string      // zpl only
	// Either a batch, with its first page (read while checking), or a list.
	batch   string
	first   registry.BatchPage
	serials []string
	n       int    // labels expected
	name    string // file name without extension
	skipped int    // retired members of the batch, left out
}

// labelCertificate is the certificate of rec in the words of the label
// route's ?lang= (Chinese unless it says en).
func (s *Server) labelCertificate(c echo.Context, m policy.Model, rec registry.Record) labels.Certificate {
	cert := s.certificate(c, m, rec)
	if locale.ByParam(c.QueryParam("lang")) == locale.EN {
		cert.Terms = labels.TermsEN(rec.Item.WarrantyMonths, s.policy.ReturnDays, s.policy.ReplaceDays)
		cert.CodeCaption, cert.ScanHint = labels.CodeCaptionEN, labels.ScanHintEN
		if m.NameEN != "" {
			cert.ModelName = m.NameEN
		}
	}
	return cert
}

// postLabels answers one file of certificates for a batch's members (in
// serial order) or for a list of serials (in the order given, repeats
// printed again): format pdf (A4 sheets of Avery L7160 labels, 63.5x38.1 mm)
// or zpl (one ^XA…^XZ per label, for size and dpi; defaults 50x30, 203).
// A batch's replaced or returned (retired) serials are left out, counted in
// X-Labels-Skipped. ?lang=en prints the words in English.
//
// Every label is rendered before the first byte is sent, into a temporary
// file (os.TempDir; about 0.7 KB a ZPL label, 1.6 KB a PDF one) read back
// to the client with Content-Length and X-Label-Count: a label that cannot
// be printed is a JSON error, never a cut file, and the file sent is
// exactly the one checked. Rendering once into the file rather than
// checking every label in a first pass and rendering it again while sending
// halves the work: drawing (QR encoding above all) is about 1.3 ms of CPU
// a label, the copy nothing. Items are read one short transaction each, batch members
// a page of labelPage at a time; nothing is kept per label but the bytes on
// disk (the PDF library does keep the document's drawing operations, about
// 13 KB a label, until it is written: sheetSlots bounds those). Once the
// answer has started, the only failure left is the copy: a client that goes
// away is logged, and a failure to read the temporary file ends the answer
// short of its Content-Length, which every client reports as an error.
//
// Codes: 200; 400 (malformed JSON, unknown field); 401; 403; 404 (no such
// batch, or it has no registered serials); 413 (more than MaxLabels); 422
// (format, size or dpi; batch and serials both or neither; serials unknown
// or malformed, listed in rows; labels that do not fit, listed in rows, the
// message naming a size that fits); 507 (no room for the temporary file).
func (s *Server) postLabels(c echo.Context) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	var in labelsInput
	if err := decodeJSON(body, &in); err != nil {
		return err
	}
	job, err := s.labelJob(in)
	if err != nil {
		return err
	}
	return s.labelFile(c, job)
}

// labelFile draws every label of job into a temporary file, then sends it
// (POST /api/v1/labels, and the console's label files). Errors: as
// renderLabels; EUnavailable when no temporary file can be made.
func (s *Server) labelFile(c echo.Context, job *labelJob) error {
	spool, err := os.CreateTemp("", "sanbao-labels-*")
	if err != nil {
		return spoolError(err)
	}
	defer func() {
		spool.Close()
		os.Remove(spool.Name())
	}()
	cert := func(m policy.Model, rec registry.Record) labels.Certificate { return s.labelCertificate(c, m, rec) }
	n, err := s.renderLabels(c.Request().Context(), job, cert, spool)
	if err != nil {
		return err
	}
	return s.sendLabels(c, job, n, spool)
}

// labelJob checks a request before any label is drawn. Errors: EInvalid
// (format, size, dpi, batch/serials, unknown serials with rows), ENotFound
// (batch), ETooLarge.
func (s *Server) labelJob(in labelsInput) (*labelJob, error) {
	job := &labelJob{}
	switch f := strings.ToLower(strings.TrimSpace(in.Format)); f {
	case "pdf", "zpl":
		job.format = labelFormats[f]
	case "png":
		job.format = zipFormat
	case "":
		return nil, policy.Errorf(policy.EInvalid, "format", "format is required: pdf (A4 sheets), zpl or png (a zip of one PNG a label)")
	default:
		return nil, policy.Errorf(policy.EInvalid, "format", "format must be pdf, zpl or png, not %q", in.Format)
	}
	var err error
	if job.font, err = s.zplFont(in.Font, job.format.ext == "zpl"); err != nil {
		return nil, err
	}
	if job.format.ext == "pdf" {
		// The sheet fixes both; a different size asked for would be
		// silently ignored, so say so instead.
		if z, err := labels.ParseSize(in.Size); strings.TrimSpace(in.Size) != "" && (err != nil || z != labels.SheetLabel) {
			return nil, policy.Errorf(policy.EInvalid, "size", "size applies to zpl; PDF labels are A4 sheets of %s mm Avery L7160 labels (print single labels of size %q with format zpl or GET /api/v1/items/{serial}/label)", labels.SheetLabel, in.Size)
		}
		if in.DPI != 0 {
			return nil, policy.Errorf(policy.EInvalid, "dpi", "dpi applies to zpl; PDF sheets print at any resolution")
		}
	} else {
		if job.size, err = labels.ParseSize(in.Size); err != nil {
			return nil, err
		}
		dpi := ""
		if in.DPI != 0 {
			dpi = strconv.Itoa(in.DPI)
		}
		if job.dpi, err = labels.ParseDPI(dpi); err != nil {
			return nil, err
		}
	}

	batch := strings.TrimSpace(in.Batch)
	switch {
	case batch != "" && in.Serials != nil:
		return nil, policy.Errorf(policy.EInvalid, "batch", "give batch or serials, not both")
	case batch != "":
		return s.batchJob(job, batch)
	case in.Serials == nil:
		return nil, policy.Errorf(policy.EInvalid, "batch", "give the batch to label, or the serials")
	case len(in.Serials) == 0:
		return nil, policy.Errorf(policy.EInvalid, "serials", "serials must list at least one serial")
	case len(in.Serials) > MaxLabels:
		return nil, policy.Errorf(policy.ETooLarge, "serials", "%d serials listed; one request prints at most %d labels", len(in.Serials), MaxLabels)
	}
	serials, err := s.knownSerials(in.Serials)
	if err != nil {
		return nil, err
	}
	job.serials, job.n = serials, len(serials)
	job.name = "labels-" + serials[0]
	if len(serials) > 1 {
		job.name += "-" + serials[len(serials)-1]
	}
	return job, nil
}

// batchJob completes job for a batch's members, reading its first page.
func (s *Server) batchJob(job *labelJob, batch string) (*labelJob, error) {
	p, err := s.db.Batch(batch, "", labelPage)
	if err != nil {
		return nil, err
	}
	switch {
	case p.Count == 0:
		return nil, policy.Errorf(policy.ENotFound, "batch", "batch %s has no registered serials to label (only products carrying its accessories)", p.Batch)
	case p.Count > MaxLabels:
		return nil, policy.Errorf(policy.ETooLarge, "batch", "batch %s has %d serials; one request prints at most %d labels: list them in parts as serials (GET /api/v1/batches/%s pages them)", p.Batch, p.Count, MaxLabels, p.Batch)
	}
	job.batch, job.first, job.n, job.name = p.Batch, p, p.Count, "labels-"+p.Batch
	return job, nil
}

// knownSerials checks every listed serial is well formed and registered,
// returning them trimmed. Errors: EInvalid, field "serials", with a row for
// each one that is not (its 1-based position in the list).
func (s *Server) knownSerials(list []string) ([]string, error) {
	out := make([]string, len(list))
	var rows []policy.RowError
	for i, raw := range list {
		serial, err := policy.Ident("serial", raw)
		if err == nil {
			_, err = s.db.Get(serial)
		}
		var pe *policy.Error
		switch {
		case err == nil:
			out[i] = serial
		case errors.As(err, &pe) && (pe.Code == policy.EInvalid || pe.Code == policy.ENotFound):
			rows = append(rows, policy.RowError{Row: i + 1, Serial: raw, Code: pe.Code, Field: "serial", Message: pe.Message})
		default:
			return nil, err
		}
	}
	if len(rows) == 0 {
		return out, nil
	}
	return nil, &policy.Error{Code: policy.EInvalid, Field: "serials", BadRows: len(rows), Rows: rows[:min(len(rows), policy.MaxRowErrors)],
		Message: fmt.Sprintf("%d of the %d serials listed cannot be labelled; nothing was printed: %s", len(rows), len(list), firstMessages(rows))}
}

// firstMessages joins the messages of the first few rows.
func firstMessages(rows []policy.RowError) string {
	const show = 3
	var b strings.Builder
	for i, r := range rows[:min(len(rows), show)] {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(r.Message)
	}
	if len(rows) > show {
		b.WriteString("; …")
	}
	return b.String()
}

// labelSink is where a job's certificates go: labels.ZPLBatch or labels.Sheet.
type labelSink interface {
	Add(labels.Certificate) error
	Close() error
}

// sheetSlots bounds the PDF sheet documents built at once in this process:
// the PDF library keeps a document's drawing operations in memory until it
// is written (about 13 KB a label: 130 MB for MaxLabels), so however many
// requests come, at most two such documents exist; the others wait their turn.
var sheetSlots = make(chan struct{}, 2)

// errStopChecking ends a job's walk once maxLabelFaults labels failed.
var errStopChecking = errors.New("enough labels failed")

// renderLabels draws every label of job into w and returns how many.
// Errors: EInvalid with a row per label that cannot be printed (up to
// maxLabelFaults); EUnavailable when w's disk is full; EBadRequest when the
// client gave up waiting; ETooLarge when the batch grew past MaxLabels
// meanwhile; the registry's errors.
func (s *Server) renderLabels(ctx context.Context, job *labelJob, cert func(policy.Model, registry.Record) labels.Certificate, w io.Writer) (int, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	var sink labelSink
	if job.format.ext == zipFormat.ext {
		sink = newPNGZip(bw, job.size, job.dpi, s.now())
	} else if job.format.ext == "pdf" {
		select {
		case sheetSlots <- struct{}{}:
			defer func() { <-sheetSlots }()
		case <-ctx.Done():
			return 0, cancelled()
		}
		sink = labels.NewSheet(bw)
	} else {
		z, err := labels.NewZPLBatch(bw, job.size, job.dpi)
		if err != nil {
			return 0, err
		}
		z.Font = job.font
		sink = z
	}
	models := modelCache{}
	var faults []policy.RowError
	n := 0
	today := s.today()
	err := s.eachLabel(ctx, job, func(serial string) error {
		n++
		if n > MaxLabels {
			return policy.Errorf(policy.ETooLarge, "batch", "batch %s grew past %d serials while its labels were drawn", job.batch, MaxLabels)
		}
		rec, err := s.db.Get(serial)
		if err != nil {
			return err
		}
		// A replaced or returned unit belongs to the company: a batch's
		// file never carries a certificate a customer could be given.
		if job.batch != "" && s.policy.Coverage(rec.Item, rec.History, today).Status == policy.Retired {
			n--
			job.skipped++
			return nil
		}
		m, err := models.get(s.db, rec.Item)
		if err != nil {
			return err
		}
		err = sink.Add(cert(m, rec))
		var pe *policy.Error
		if errors.As(err, &pe) && pe.Code != policy.EInternal {
			faults = append(faults, policy.RowError{Row: n, Serial: serial, Code: pe.Code, Field: pe.Field, Message: pe.Message})
			if len(faults) == maxLabelFaults {
				return errStopChecking
			}
			return nil
		}
		return err
	})
	stopped := errors.Is(err, errStopChecking)
	if err != nil && !stopped {
		return 0, spoolError(err)
	}
	if len(faults) > 0 {
		return 0, labelFaults(faults, stopped, job.n)
	}
	if n == 0 {
		return 0, policy.Errorf(policy.EInvalid, "batch", "every serial of batch %s was replaced or returned: no certificate to print", job.batch)
	}
	if err := sink.Close(); err != nil {
		return 0, spoolError(err)
	}
	return n, spoolError(bw.Flush())
}

// eachLabel calls fn with each serial of job in print order, reading a
// batch a page at a time and giving up when the client has.
func (s *Server) eachLabel(ctx context.Context, job *labelJob, fn func(string) error) error {
	each := func(serials []string) error {
		if ctx.Err() != nil {
			return cancelled()
		}
		for _, serial := range serials {
			if err := fn(serial); err != nil {
				return err
			}
		}
		return nil
	}
	if job.batch == "" {
		for i := 0; i < len(job.serials); i += labelPage {
			if err := each(job.serials[i:min(i+labelPage, len(job.serials))]); err != nil {
				return err
			}
		}
		return nil
	}
	p := job.first
	for {
		if err := each(p.Serials); err != nil {
			return err
		}
		if p.Next == "" {
			return nil
		}
		var err error
		if p, err = s.db.Batch(job.batch, p.Next, labelPage); err != nil {
			return err
		}
	}
}

func cancelled() error {
	return policy.Errorf(policy.EBadRequest, "", "the request was cancelled before its labels were ready")
}

// labelFaults is the answer when labels cannot be printed: the first one's
// reason (for a size, naming one that fits) and a row for each.
func labelFaults(faults []policy.RowError, stopped bool, total int) error {
	f := faults[0]
	msg := "label of " + f.Serial + ": " + f.Message
	switch {
	case stopped:
		msg = fmt.Sprintf("at least %d of the %d labels cannot be printed (checking stopped there); nothing was printed. The first: %s", len(faults), total, msg)
	case len(faults) > 1:
		msg = fmt.Sprintf("%d of the %d labels cannot be printed; nothing was printed. The first: %s", len(faults), total, msg)
	}
	return &policy.Error{Code: policy.EInvalid, Field: f.Field, Message: msg, Rows: faults, BadRows: len(faults)}
}

// spoolError turns a full disk under the temporary file into the storage
// answer (507) operators know; other errors pass unchanged.
func spoolError(err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return policy.Errorf(policy.EUnavailable, "", "storage is full: no room in the temporary directory for the label file")
	}
	return err
}

// sendLabels sends the n labels rendered into spool, flushing as it goes.
func (s *Server) sendLabels(c echo.Context, job *labelJob, n int, spool *os.File) error {
	size, err := spool.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return err
	}
	res := c.Response()
	h := res.Header()
	h.Set(echo.HeaderContentType, job.format.contentType)
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf("attachment; filename=%q", job.name+"."+job.format.ext))
	h.Set(echo.HeaderContentLength, strconv.FormatInt(size, 10))
	h.Set("X-Label-Count", strconv.Itoa(n))
	if job.batch != "" {
		h.Set("X-Labels-Skipped", strconv.Itoa(job.skipped))
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store") // it carries check codes
	res.WriteHeader(http.StatusOK)
	flush := http.NewResponseController(res.Writer)
	buf := make([]byte, 64<<10)
	var sent int64
	for {
		k, rerr := spool.Read(buf)
		if k > 0 {
			if _, err := res.Write(buf[:k]); err != nil {
				s.log.Warn("label file cut short: the client went away", "request_id", requestID(c),
					"sent", sent, "size", size, "err", err)
				return nil
			}
			sent += int64(k)
			_ = flush.Flush() // a writer that cannot flush sends when its buffer fills
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			// Logged by the error handler; the client sees fewer bytes
			// than Content-Length promised.
			return fmt.Errorf("reading the label file back after %d of %d bytes: %w", sent, size, rerr)
		}
	}
	s.log.Info("labels sent", "request_id", requestID(c), "labels", n, "format", job.format.ext, "bytes", size, "key_id", keyOf(c).ID)
	return nil
}
