## Every page
site-title = { $vendor }
footer-encrypted = シークレットはリンクだけが持つ鍵で暗号化され、表示されるか期限が切れると削除されます。
language-switch = 言語
support-contact = ご不明な点は { $vendor } までお問い合わせください:
note-from = { $vendor } からのメモ

## Error pages
not-found-title = ページが見つかりません
not-found-body = このアドレスには何もありません。
go-home = トップページへ
error-title = 問題が発生しました

## Counts
views-left = { $count ->
   *[other] 残り { $count } 回
}

## Browser-side messages
js-revealed-at = { $time } に表示しました。サーバーからは削除されています。
