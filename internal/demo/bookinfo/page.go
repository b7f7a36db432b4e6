package bookinfo

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
)

// pageView is what the product page template shows.
type pageView struct {
	User         string
	Product      product
	Summary      template.HTML // the product's description, which is HTML by design
	Details      *bookDetails
	DetailsError string
	Reviews      *bookReviews
	ReviewsError string
}

// page serves /productpage: the book, its details and its reviews, fetched one after the
// other as the original does, with the reviews' stars in the colour reviews chose.
func (p *productPage) page(w http.ResponseWriter, r *http.Request) {
	const id = "0"
	h := p.headers(r)
	prod := products()[0]
	v := pageView{User: sessionUser(r), Product: prod, Summary: template.HTML(prod.DescriptionHTML)}
	status, body := p.details(r.Context(), id, h)
	v.Details, v.DetailsError = decodeOr[bookDetails](status, body)
	if p.cfg.FloodFactor > 0 {
		p.flood(r.Context(), id, h)
	}
	status, body = p.reviews(r.Context(), id, h)
	v.Reviews, v.ReviewsError = decodeOr[bookReviews](status, body)
	var buf bytes.Buffer
	if err := productTemplate.Execute(&buf, v); err != nil {
		p.cfg.logger().Error("productpage: render", "err", err)
		http.Error(w, "render failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

// decodeOr decodes a 200 answer into a T, or returns the error text of a failed one.
func decodeOr[T any](status int, body []byte) (*T, string) {
	if status == http.StatusOK {
		var v T
		if err := json.Unmarshal(body, &v); err == nil {
			return &v, ""
		}
	}
	var e errorBody
	_ = json.Unmarshal(body, &e)
	return nil, e.Error
}

func (p *productPage) index(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = indexTemplate.Execute(w, p.cfg)
}

// seq returns n empty elements, for ranging over stars in the template.
func seq(n int) []struct{} {
	if n < 0 {
		n = 0
	}
	return make([]struct{}, n)
}

// productTemplate keeps the original's markup where tests and demos look: the title, the
// sign-in form posting username to "login", the details labels, the review text, the stars
// as glyphicon-star spans inside <font color="...">, the ratings error in <i>, and "Reviews
// served by:" with the reviews pod name.
var productTemplate = template.Must(template.New("productpage").Funcs(template.FuncMap{
	"seq": seq,
	"sub": func(a, b int) int { return a - b },
}).Parse(`<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Simple Bookstore App</title>
<style>
body { font-family: sans-serif; margin: 0; color: #222; }
nav { background: #1f2937; color: #fff; padding: 12px 24px; display: flex; justify-content: space-between; align-items: center; }
nav a { color: #fff; }
.container { max-width: 960px; margin: 24px auto; padding: 0 24px; }
.row { display: flex; gap: 48px; flex-wrap: wrap; }
.col { flex: 1; min-width: 300px; }
.glyphicon-star::before { content: "\2605"; }
.glyphicon-star-empty::before { content: "\2606"; }
blockquote { border-left: 4px solid #ddd; margin: 16px 0; padding: 4px 16px; }
.served-by { font-family: monospace; color: #555; font-size: small; }
</style>
</head>
<body>
<nav>
  <a class="navbar-brand" href="#">BookInfo Sample</a>
  {{- if .User}}
  <span class="navbar-text">{{.User}} ( <a href="logout">sign out</a> )</span>
  {{- else}}
  <form method="post" action="login" name="login_form">
    <input type="text" name="username" id="username" placeholder="User Name" required>
    <input type="password" name="passwd" placeholder="Password">
    <button type="submit">Sign in</button>
  </form>
  {{- end}}
</nav>
<div class="container">
  <h1 class="text-center text-primary">{{.Product.Title}}</h1>
  <p>Summary: {{.Summary}}</p>
  <div class="row">
    <div class="col">
      {{- with .Details}}
      <h4 class="text-center text-primary">Book Details</h4>
      <dl>
        <dt>Type:</dt>{{.Type}}
        <dt>Pages:</dt>{{.Pages}}
        <dt>Publisher:</dt>{{.Publisher}}
        <dt>Language:</dt>{{.Language}}
        <dt>ISBN-10:</dt>{{.ISBN10}}
        <dt>ISBN-13:</dt>{{.ISBN13}}
      </dl>
      {{- else}}
      <h4 class="text-center text-primary">Error fetching product details!</h4>
      <p>{{.DetailsError}}</p>
      {{- end}}
    </div>
    <div class="col">
      {{- with .Reviews}}
      <h4 class="text-center text-primary">Book Reviews</h4>
      {{- range .Reviews}}
      <blockquote>
        <p>{{.Text}}</p>
        <small>{{.Reviewer}}</small>
        {{- with .Rating}}
        {{- if gt .Stars 0}}
        <font color="{{.Color}}">
          {{- range seq .Stars}}
          <span class="glyphicon glyphicon-star"></span>
          {{- end}}
          {{- range seq (sub 5 .Stars)}}
          <span class="glyphicon glyphicon-star-empty"></span>
          {{- end}}
        </font>
        {{- else if .Error}}
        <p><i>{{.Error}}</i></p>
        {{- end}}
        {{- end}}
        <div class="served-by">Reviews served by: {{$.Reviews.PodName}}
          {{- if and $.Reviews.ClusterName (ne $.Reviews.ClusterName "null")}} on cluster {{$.Reviews.ClusterName}}{{end}}</div>
      </blockquote>
      {{- end}}
      {{- else}}
      <h4 class="text-center text-primary">Error fetching product reviews!</h4>
      <p>{{.ReviewsError}}</p>
      {{- end}}
    </div>
  </div>
</div>
</body>
</html>
`))

// indexTemplate is the landing page: the services productpage calls and links to the page.
var indexTemplate = template.Must(template.New("index").Parse(`<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Simple Bookstore App</title></head>
<body>
<h3>Hello! This is a simple bookstore application consisting of three services as shown below</h3>
<table border="1" cellpadding="6">
<tr><th>name</th><th>endpoint</th><th>children</th></tr>
<tr><td>http://{{.DetailsAddr}}</td><td>details</td><td></td></tr>
<tr><td>http://{{.ReviewsAddr}}</td><td>reviews</td><td>http://{{.RatingsAddr}} (ratings)</td></tr>
</table>
<p>Click on one of the links below to auto generate a request to the backend as a real user or a tester</p>
<p><a href="productpage?u=normal">Normal user</a></p>
<p><a href="productpage?u=test">Test user</a></p>
</body>
</html>
`))
