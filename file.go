package powerbi

import (
	"context"
	"io"
	"mime"
)

// File is a file the service sends: an exported report, a downloaded .pbix,
// a dataflow definition. Body streams it from the network: it is never held
// in memory whole nor capped like a JSON body. The caller reads it and closes
// it; the call's context bounds the reading.
type File struct {
	Body          io.ReadCloser // the caller closes it
	ContentType   string
	ContentLength int64  // -1 when unknown
	Name          string // the file name the service suggests (Content-Disposition), if any
}

// callFile sends r and returns its 2xx body unread, as a File.
func callFile(ctx context.Context, c *Client, r *Request) (*File, error) {
	r.download = true
	_, resp, err := c.exchange(ctx, r)
	if err != nil {
		return nil, err
	}
	f := &File{Body: resp.Body, ContentType: resp.Header.Get("Content-Type"), ContentLength: resp.ContentLength}
	if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil {
		f.Name = params["filename"]
	}
	return f, nil
}
