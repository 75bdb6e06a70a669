## The request mail to a tenant's contacts (its steps and labels are the
## request page's own, in pages.ftl)
mail-request-subject = { $vendor }: { $tenant } の新しいクライアント シークレットを送ってください
mail-request-subject-automatic = { $vendor }: { $date } までに { $tenant } の新しいクライアント シークレットが必要です
mail-hello = ご担当者様
mail-request-intro = { $vendor } が Microsoft Entra ID テナントへのサインインに使うアプリ登録の、新しいクライアント シークレットをお願いしています。
mail-request-intro-automatic = { $vendor } が Microsoft Entra ID テナントへのサインインに使うクライアント シークレットは { $date } に期限切れになります。それまでに新しいシークレットを作成し、下のリンクから送ってください。
mail-request-step-link = このリンクを開き、値を貼り付けてください:
mail-request-checked = このページはシークレットを受け付ける前に Microsoft で確認し、シークレットはそのまま { $vendor } の構成に入ります。誰も見る必要はありません。このメッセージにシークレットを書いて返信しないでください。
mail-request-once = このリンクはこの依頼専用です。心当たりがない場合は無視してください。リンクから誰かが回答するまで何も起こりません。
