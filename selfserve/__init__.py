"""selfserve: customers text a keyword or scan a QR code and get their Talon.One coupon.

The domain package: no Flask, no Werkzeug, no request objects.
"""
