package bookinfo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"time"

	"github.com/weftmesh/weft/internal/demo"
)

const (
	// booksISBN is the Google Books ISBN details v2 looks up: an edition of The Comedy of
	// Errors with Shakespeare as its only author.
	booksISBN = "0486424618"
	// booksTimeout bounds the Google Books API call, as the original's read timeout.
	booksTimeout = 5 * time.Second
)

type details struct {
	cfg    Config
	client *http.Client
}

// NewDetails returns the details service: /details/<id> answers the book's details as JSON
// and /health reports it healthy. With cfg.ExternalBooks (details v2) the details come from
// the Google Books API.
func NewDetails(cfg Config) http.Handler {
	d := &details{cfg: cfg, client: demo.NewClient(cfg.Proxy)}
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
		demo.WriteJSON(w, http.StatusOK, map[string]string{"status": "Details is healthy"})
	})
	mux.HandleFunc("/details", d.serve)
	mux.HandleFunc("/details/", d.serve)
	return mux
}

func (d *details) serve(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(path.Base(r.URL.Path))
	if err != nil {
		demo.WriteJSON(w, http.StatusBadRequest, errorBody{"please provide numeric product id"})
		return
	}
	if !d.cfg.ExternalBooks {
		demo.WriteJSON(w, http.StatusOK, localDetails(id))
		return
	}
	hdr := http.Header{}
	demo.Forward(hdr, r.Header)
	b, err := d.external(r.Context(), id, hdr)
	if err != nil {
		d.cfg.logger().Warn("details: google books", "err", err)
		demo.WriteJSON(w, http.StatusBadRequest, errorBody{err.Error()})
		return
	}
	demo.WriteJSON(w, http.StatusOK, b)
}

func localDetails(id int) bookDetails {
	return bookDetails{
		ID: id, Author: "William Shakespeare", Year: 1595, Type: "paperback", Pages: 200,
		Publisher: "PublisherA", Language: "English", ISBN10: "1234567890", ISBN13: "123-1234567890",
	}
}

// volumes is the part of a Google Books API volumes answer details reads.
type volumes struct {
	Items []struct {
		VolumeInfo struct {
			Authors       []string `json:"authors"`
			PublishedDate string   `json:"publishedDate"`
			PrintType     string   `json:"printType"`
			PageCount     int      `json:"pageCount"`
			Publisher     string   `json:"publisher"`
			Language      string   `json:"language"`
			Identifiers   []struct {
				Type       string `json:"type"`
				Identifier string `json:"identifier"`
			} `json:"industryIdentifiers"`
		} `json:"volumeInfo"`
	} `json:"items"`
}

// external fetches the book from the Google Books API: over plain HTTP when a sidecar
// originates TLS (WITH_ISTIO=true), over HTTPS otherwise.
func (d *details) external(ctx context.Context, id int, hdr http.Header) (bookDetails, error) {
	base := d.cfg.booksAPI
	if base == "" {
		base = "https://www.googleapis.com"
		if d.cfg.WithIstio {
			base = "http://www.googleapis.com"
		}
	}
	ctx, cancel := context.WithTimeout(ctx, booksTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/books/v1/volumes?q=isbn:"+booksISBN, nil)
	if err != nil {
		return bookDetails{}, fmt.Errorf("google books request: %w", err)
	}
	req.Header = hdr
	resp, err := d.client.Do(req)
	if err != nil {
		return bookDetails{}, fmt.Errorf("google books: %w", err)
	}
	defer resp.Body.Close()
	var v volumes
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&v); err != nil {
		return bookDetails{}, fmt.Errorf("google books answer (status %d): %w", resp.StatusCode, err)
	}
	if len(v.Items) == 0 || len(v.Items[0].VolumeInfo.Authors) == 0 {
		return bookDetails{}, fmt.Errorf("google books answer (status %d): no book for isbn %s", resp.StatusCode, booksISBN)
	}
	return fromVolume(id, v), nil
}

func fromVolume(id int, v volumes) bookDetails {
	b := v.Items[0].VolumeInfo
	out := bookDetails{
		ID: id, Author: b.Authors[0], Year: b.PublishedDate, Type: "unknown", Pages: b.PageCount,
		Publisher: b.Publisher, Language: "unknown",
	}
	if b.Language == "en" {
		out.Language = "English"
	}
	if b.PrintType == "BOOK" {
		out.Type = "paperback"
	}
	for _, i := range b.Identifiers {
		switch i.Type {
		case "ISBN_10":
			out.ISBN10 = i.Identifier
		case "ISBN_13":
			out.ISBN13 = i.Identifier
		}
	}
	return out
}
