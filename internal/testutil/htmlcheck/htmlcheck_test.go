package htmlcheck

import "testing"

func TestHTML(t *testing.T) {
	tests := []struct {
		in   string
		bad  bool
		what string
	}{
		{`<p class="x">a &lt;script&gt; b</p>`, false, "escaped text"},
		{`<style>a > b { color: red }</style><p>x</p>`, false, "CSS with >"},
		{`<title>&lt;script&gt;</title>`, false, "title text"},
		{`<p>1 < 2 and 3 <= 4</p>`, false, "text <"},
		{`<!DOCTYPE html><!-- <script> --><p>x</p>`, false, "comment"},
		{`<a href="#x">x</a><img src="plot.svg" alt="&#34;&gt;">`, false, "plain links"},
		{`<img src="data:image/png;base64,AAAA">`, false, "image data URL"},
		{`<input checked="" disabled="" type="checkbox">`, false, "task list"},
		{`<script>alert(1)</script>`, true, "script"},
		{`<p><img src=x onerror=alert(1)></p>`, true, "event handler"},
		{`<a href="java&#x09;script:alert(1)">x</a>`, true, "script URL with entity tab"},
		{`<a href=" JAVASCRIPT:alert(1)">x</a>`, true, "script URL"},
		{`<iframe srcdoc="x"></iframe>`, true, "iframe"},
		{`<svg onload=alert(1)>`, true, "svg"},
		{`<a href="data:text/html,<script>">x</a>`, true, "data URL"},
		{`<p style="background:url(javascript:alert(1))">x</p>`, true, "style URL"},
		{`<p title="x`, true, "unterminated"},
		{`<figure><svg viewBox="0 0 1 1" role="img"><title>a &lt;b&gt;</title><g><title>3 ops/s</title><path d="M0 0"/></g></svg><p>after</p></figure>`, false, "inline plot"},
		{`<svg><title><img src=x onerror=alert(1)></title></svg>`, true, "markup in an inline svg's title"},
		{`<svg><foreignObject><p>x</p></foreignObject></svg>`, true, "foreignObject in an inline svg"},
		{`<svg><style>*{}</style></svg>`, true, "style in an inline svg"},
		{`<svg><a href="#x"><text>x</text></a></svg>`, true, "link in an inline svg"},
		{`<svg></svg><script>alert(1)</script>`, true, "script after an inline svg"},
	}
	for _, tt := range tests {
		probs := HTML([]byte(tt.in))
		if (len(probs) > 0) != tt.bad {
			t.Errorf("%s: HTML(%q) = %q", tt.what, tt.in, probs)
		}
	}
}

func TestSVG(t *testing.T) {
	good := `<svg xmlns="http://www.w3.org/2000/svg"><title>&lt;script&gt;</title><text>a</text></svg>`
	if p := SVG([]byte(good)); p != nil {
		t.Errorf("good SVG: %q", p)
	}
	for _, bad := range []string{
		`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`,
		`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>`,
		`<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><a xlink:href="javascript:alert(1)">x</a></svg>`,
		`<svg><text>x</svg>`,
	} {
		if p := SVG([]byte(bad)); p == nil {
			t.Errorf("SVG(%q) found nothing", bad)
		}
	}
}
