## Every page
footer-encrypted = シークレットはリンクだけが持つ鍵で暗号化され、表示されるか期限が切れると削除されます。
language-switch = 言語
support-contact = ご不明な点は { $vendor } までお問い合わせください:
note-from = { $vendor } からのメモ
optional = (任意)
copy = コピー
share = 共有…

## Error pages
not-found-title = ページが見つかりません
not-found-body = このアドレスには何もありません。
go-home = トップページへ
error-title = 問題が発生しました

## Push: the create form
create-title = シークレットを共有
create-heading = シークレットを一度だけ共有
create-lead = Entra ID のクライアント シークレットなどを貼り付けてください。決められた回数だけ表示できるリンクが発行され、その後シークレットは削除されます。
field-secret = シークレット
field-secret-hint = 保存前に暗号化されます。復号できるのは、次に表示されるリンクだけです。
field-ttl = リンクの有効期限
field-views = 表示回数
field-views-hint = 1 回表示するごとに 1 回分を使います。最大 { $max } 回。
field-passphrase = パスフレーズ
field-passphrase-hint = 受信者はシークレットを表示する前にこれを入力します。電話など、リンクとは別の手段で伝えてください。間違いが多すぎるとシークレットは破棄されます。
field-note = 受信者へのメモ
field-note-hint = シークレットの表示前後に受信者に表示されます。どのアプリ登録のものかなどを書いてください。シークレット自体は書かないでください。
create-button = リンクを作成
form-error-summary = リンクは作成されませんでした。下の印の付いた項目を確認してください。
form-error-secret = ここにシークレットを貼り付けてください。空にはできません。
form-error-secret-too-large = シークレットが大きすぎます。最大 { $max } バイトです。
form-error-ttl = 表示されている有効期限から選んでください。
form-error-views = 1 から { $max } までの整数を入力してください。
form-error-passphrase = このパスフレーズは使えません。1 〜 1024 文字にしてください。
form-error-note = メモが長すぎるか、表示できない文字が含まれています。最大 500 文字です。
ttl-hours = { $count ->
   *[other] { $count } 時間
}
ttl-days = { $count ->
   *[other] { $count } 日
}

## Push: the result page
created-title = リンクを作成しました
created-heading = リンクの準備ができました
created-link = 受信者用のリンク
created-link-hint = { $views ->
    [one] このリンクを受信者に送ってください。1 回だけ使え、{ $expires } に期限切れになります。
   *[other] このリンクを受信者に送ってください。{ $views } 回使え、{ $expires } に期限切れになります。
} # 以降の部分も含め、リンク全体が必要です。
created-qr = スマートフォンで開くためのリンクの QR コード
created-passphrase = パスフレーズはリンクとは別の手段で送ってください。パスフレーズがないと、リンクからシークレットは表示されません。
manage-heading = 他人に見せないでください: 管理用リンク
manage-link = 管理用リンク
manage-hint = シークレットがいつどこから表示されたかがわかり、使われる前に削除することもできます。受信者には送らないでください。
create-another = もう 1 つ作成

## The recipient's page
reveal-title = シークレットを表示
checking-link = リンクを確認しています…
ready-heading = シークレットが共有されました
fact-expires = 有効期限
fact-views = 表示回数
fact-created = 作成日時
fact-ended = 終了日時
fact-failed = 間違ったパスフレーズ
recipient-passphrase-hint = 送信者からリンクとは別に伝えられているはずです。
reveal-button = シークレットを表示
reveal-hint = 表示すると残りの表示回数を 1 回使います。このページを開いただけでは使いません。
revealed-heading = シークレット
delete-remaining = 残りの表示回数を削除
gone-heading = このシークレットは利用できません

## The sender's manage page
status-title = シークレットの状態
loading-status = 状態を読み込んでいます…
reveals-heading = 表示履歴
activity-heading = アクティビティ
col-time = 日時
col-ip = IP アドレス
col-browser = ブラウザー
col-event = イベント
col-by = 実行者
refresh = 更新
delete-now = 今すぐ削除

## Browser-side messages
js-network = サーバーに接続できませんでした。接続を確認して、もう一度お試しください。
js-generic = 問題が発生しました。もう一度お試しください。
js-unknown-time = 不明
js-now = 今
js-in-less-than-a-minute = 1 分以内
js-copied = コピーしました
js-copy-failed = コピーできませんでした
js-copied-announce = クリップボードにコピーしました。
js-copy-failed-announce = 自動でコピーできませんでした。テキストを選択したので、キーボードかメニューでコピーしてください。
js-incomplete = このリンクは不完全です。# 以降の部分がありません。送信者にリンク全体をコピーしてもらってください。
js-not-found = このリンクは無効です。シークレットがすでに表示されたか、期限切れか、リンクが不完全です。
js-revoked = 送信者がこのシークレットを削除しました。
js-applied = このシークレットはテナントの構成に適用され、ここからは削除されました。
js-applied-at = このシークレットは { $time } にテナントの構成に適用され、ここからは削除されました。
js-destroyed = パスフレーズの間違いが多すぎたため、このシークレットは破棄されました。
js-destroyed-now = パスフレーズの間違いが多すぎます。シークレットは破棄されました。
js-passphrase-required = このシークレットはパスフレーズで保護されています。送信者からリンクとは別に伝えられているはずです。
js-deleted = このシークレットはサーバーから削除されました。今すぐ保管すべき場所に保存してください。このページで再表示はできません。
js-unconfirmed = サーバーが表示を確認できませんでした。もう一度「表示」をクリックしてください。1 分以内なら同じシークレットが表示されます。
js-already-revealed = このシークレットはすでに表示されています。ご自身でない場合、リンクが傍受されています。送信者に新しいシークレットを依頼してください。
js-already-revealed-at = このシークレットは { $time } にすでに表示されています。ご自身でない場合、リンクが傍受されています。送信者に新しいシークレットを依頼してください。
js-revealed-at = { $time } に表示しました。サーバーからは削除されています。
js-revealed-remaining = { $time } に表示しました。表示回数を使い切るか期限が切れるまで残ります。
js-revealing = 表示しています…
js-wrong-passphrase = パスフレーズが違います。
js-wrong-passphrase-left-one = パスフレーズが違います。あと { $count } 回間違えるとシークレットは破棄されます。
js-wrong-passphrase-left-other = パスフレーズが違います。あと { $count } 回間違えるとシークレットは破棄されます。
js-views-of-one = 残り { $left } 回 / { $allowed } 回
js-views-of-other = 残り { $left } 回 / { $allowed } 回
js-more-views-one = あと { $count } 回表示できます。リンク全体を持つ人なら誰でも、期限まで使えます。
js-more-views-other = あと { $count } 回表示できます。リンク全体を持つ人なら誰でも、期限まで使えます。
js-delete-remaining-confirm = 残りの表示回数ごと、このシークレットを今すぐ削除しますか? リンクは誰も使えなくなります。
js-deleted-remaining = 削除しました。リンクはもう誰も使えません。
js-manage-incomplete = この管理用リンクは不完全です。# 以降の部分がありません。管理用リンク全体をコピーしてください。
js-manage-gone = このシークレットは期限切れで記録も削除されたか、管理用リンクが不完全です。
js-confirm-delete = このシークレットを今すぐ削除しますか? リンクはすぐに使えなくなります。元に戻せません。
js-state-live = 表示待ち
js-state-revealed = 表示済み — サーバーから削除
js-state-revoked = あなたが削除
js-state-destroyed = パスフレーズの間違いが多すぎたため破棄
js-no-reveals = まだ誰も表示していません。
js-views-used-one = { $used } 回 / { $allowed } 回 使用
js-views-used-other = { $used } 回 / { $allowed } 回 使用
js-event-created = 作成
js-event-viewed = リンクを開いた
js-event-revealed = 表示
js-event-passphrase-failed = パスフレーズの間違い
js-event-destroyed = 破棄
js-event-revoked = 削除
js-event-expired = 未読のまま期限切れ
js-you = あなた
js-someone = 受信者
js-browser-on = { $os } の { $browser }

## The customer's request page
req-title = 新しいクライアント シークレット
req-asks = { $vendor } が新しいクライアント シークレットを依頼しています
req-lead = Microsoft Entra ID の次のアプリ登録用です:
req-tenant = テナント
req-entra-tenant = Entra テナント
req-client-id = アプリ (クライアント ID)
req-link-expires = このリンクの有効期限
req-copy-tenant = テナントをコピー
req-copy-client-id = クライアント ID をコピー
req-what-to-do = 手順
req-step-sign-in = このテナントの管理者として Microsoft Entra 管理センターにサインインします:
req-step-open-app = [アプリケーション] → [アプリの登録] → [すべてのアプリケーション] に進み、次のアプリケーション (クライアント) ID のアプリを開きます:
req-step-new-secret = [証明書とシークレット] → [クライアント シークレット] → [新しいクライアント シークレット] を開き、有効期限を選びます。
req-step-direct = 直接開く場合:
req-step-direct-link = このアプリの [証明書とシークレット]
req-step-copy-value = [値] 列をすぐにコピーします。一度しか表示されません。[シークレット ID] ではありません。
req-step-paste = 下に貼り付けます。
req-field-secret = クライアント シークレットの値
req-field-expiry = シークレットの有効期間
req-field-expiry-note = (手順 3 で選んだもの)
req-expiry-unknown = わからない
req-expiry-days = { $days } 日 ({ $months } か月)
req-expiry-custom = 日付を指定
req-expiry-hint = このシークレットが使えなくなる前に、新しいシークレットを依頼できるようにするためです。
req-field-expiry-date = 有効期限の日付
req-field-secret-id = シークレット ID (記録用)
req-secret-id-hint = [値] の隣の [シークレット ID] 列の GUID です。秘密ではなく、シークレットを区別するためのものです。
req-submit = 確認して送信
req-accepted-heading = ありがとうございます。シークレットを受け取りました
req-close = このページは閉じてかまいません。
req-closed-heading = ここで行うことはありません
js-req-asks = { $vendor } が新しいクライアント シークレットを依頼しています
