package admin

import (
	"bytes"
	"html/template"
	"net/http"
	"strings"
)

// homePage is the admin home page: one row per endpoint with its help text, and its
// parameters as form fields below it. Endpoints that change state are POST forms with
// a button, so that a crawler following links changes nothing; links are relative so
// that the page also works when another console embeds it under a sub-path.
var homePage = template.Must(template.New("home").Parse(`<!DOCTYPE html>
<html lang='en'>
<head>
<title>Envoy Admin</title>
<style>
body { font-family: sans-serif; }
.home-table { border-collapse: collapse; }
.home-data { padding: 2px 12px; text-align: left; vertical-align: top; }
.option { padding-left: 36px; }
.gray { background-color: #eee; }
.button-as-link { background: none; border: none; padding: 0; color: #00e; text-decoration: underline; cursor: pointer; font: inherit; }
</style>
</head>
<body>
<table class='home-table'>
  <thead>
    <tr><th class='home-data'>Command</th><th class='home-data'>Description</th></tr>
  </thead>
  <tbody>
{{- range $e := .}}
  <tr class='{{$e.Class}}'>
    <td class='home-data'>
    {{- if $e.Link}}<a href='{{$e.Name}}'>{{$e.Name}}</a>
    {{- else}}<form action='{{$e.Name}}' method='{{$e.Method}}' id='{{$e.Name}}' class='home-form'><button{{if eq $e.Method "get"}} class='button-as-link'{{end}}>{{$e.Name}}</button></form>
    {{- end}}</td>
    <td class='home-data'>{{$e.Help}}</td>
  </tr>
{{- range $e.Params}}
  <tr class='{{$e.Class}}'>
    <td class='option'>
    {{- if eq .Kind "bool"}}<input type='checkbox' name='{{.Name}}' id='{{.ID}}' form='{{$e.Name}}'>
    {{- else if eq .Kind "enum"}}<select name='{{.Name}}' id='{{.ID}}' form='{{$e.Name}}'>{{range .Choices}}<option value='{{.}}'>{{.}}</option>{{end}}</select>
    {{- else}}<input type='text' name='{{.Name}}' id='{{.ID}}' form='{{$e.Name}}'>
    {{- end}}</td>
    <td class='home-data'><label for='{{.ID}}'>{{.Help}}</label></td>
  </tr>
{{- end}}
{{- end}}
  </tbody>
</table>
</body>
</html>
`))

type homeRow struct {
	Name, Method, Help string
	Class              string // alternate rows are gray
	Link               bool
	Params             []homeParam
}

type homeParam struct {
	Kind, Name, ID, Help string
	Choices              []string
}

// homeRows lists every endpoint but "/" for the home page; names drop the leading
// slash so that links are relative.
func (s *Server) homeRows() []homeRow {
	var rows []homeRow
	for _, e := range s.endpoints {
		if e.path == "/" {
			continue
		}
		r := homeRow{Name: strings.TrimPrefix(e.path, "/"), Method: "get", Help: e.help}
		if e.mutates {
			r.Method = "post"
		}
		if len(rows)%2 == 1 {
			r.Class = "gray"
		}
		r.Link = !e.mutates && len(e.params) == 0
		for _, p := range e.params {
			hp := homeParam{Kind: [...]string{"bool", "string", "enum"}[p.kind], Name: p.name, Help: p.help, Choices: p.choices}
			hp.ID = "param-" + strings.ReplaceAll(r.Name, "/", "-") + "-" + p.name
			r.Params = append(r.Params, hp)
		}
		rows = append(rows, r)
	}
	return rows
}

func (s *Server) handleHome(w http.ResponseWriter, _ *http.Request) {
	var buf bytes.Buffer
	if err := homePage.Execute(&buf, s.homeRows()); err != nil {
		http.Error(w, "home page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentTypeHTML)
	w.Write(buf.Bytes())
}
