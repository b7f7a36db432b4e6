package bookinfo

// product is one book in productpage's catalogue.
type product struct {
	ID              int    `json:"id"`
	Title           string `json:"title"`
	DescriptionHTML string `json:"descriptionHtml"`
}

// products returns productpage's catalogue: one book, as in the original.
func products() []product {
	return []product{{
		ID:    0,
		Title: "The Comedy of Errors",
		DescriptionHTML: `<a href="https://en.wikipedia.org/wiki/The_Comedy_of_Errors">Wikipedia Summary</a>: ` +
			`The Comedy of Errors is one of <b>William Shakespeare's</b> early plays. It is his shortest and ` +
			`one of his most farcical comedies, with a major part of the humour coming from slapstick and ` +
			`mistaken identity, in addition to puns and word play.`,
	}}
}

// bookDetails is the answer of details' /details/<id>.
type bookDetails struct {
	ID        int    `json:"id"`
	Author    string `json:"author"`
	Year      any    `json:"year"` // a number locally, a date string from the Google Books API
	Type      string `json:"type"`
	Pages     int    `json:"pages"`
	Publisher string `json:"publisher"`
	Language  string `json:"language"`
	ISBN10    string `json:"ISBN-10"`
	ISBN13    string `json:"ISBN-13"`
}

// bookReviews is the answer of reviews' /reviews/<id>.
type bookReviews struct {
	ID          string   `json:"id"`
	PodName     string   `json:"podname"`
	ClusterName string   `json:"clustername"`
	Reviews     []review `json:"reviews"`
}

// review is one reviewer's text and, from reviews v2 and v3, their rating.
type review struct {
	Reviewer string  `json:"reviewer"`
	Text     string  `json:"text"`
	Rating   *rating `json:"rating,omitempty"`
}

// rating is a review's stars and their colour, or the error that replaced them.
type rating struct {
	Stars int    `json:"stars,omitempty"`
	Color string `json:"color,omitempty"`
	Error string `json:"error,omitempty"`
}

// bookRatings is the answer of ratings' /ratings/<id>.
type bookRatings struct {
	ID      int            `json:"id"`
	Ratings map[string]int `json:"ratings"`
}

// errorBody is the JSON every service answers with when it fails.
type errorBody struct {
	Error string `json:"error"`
}
