/* The console's photo page: upload with a progress bar (XHR), move photos up and down before saving
   their order, and swap in thumbnails when the rendition task has drawn them. Works without it too:
   the form posts normally. */
(function () {
    "use strict";
    var form = document.querySelector("[data-testid=photo-upload]");
    if (!form) { return; }
    var input = form.querySelector("input[type=file]");
    var bar = form.querySelector("progress");
    var state = form.querySelector(".c-upload__state");
    var text = window.consoleText || {};

    input.addEventListener("change", function () {
        if (!input.files.length) { return; }
        var data = new FormData(form);
        var xhr = new XMLHttpRequest();
        xhr.open("POST", form.action);
        xhr.setRequestHeader("Accept", "application/json");
        bar.hidden = false;
        bar.value = 0;
        state.textContent = text.uploading;
        xhr.upload.addEventListener("progress", function (event) {
            if (event.lengthComputable) { bar.value = Math.round(100 * event.loaded / event.total); }
        });
        xhr.addEventListener("load", function () {
            var answer = {};
            try { answer = JSON.parse(xhr.responseText); } catch (e) { answer = {errors: [text.failed]}; }
            bar.value = 100;
            var errors = answer.errors || [];
            state.textContent = (answer.saved && answer.saved.length ? text.uploaded + " " : "") + errors.join(" ");
            state.classList.toggle("c-error", errors.length > 0);
            if (answer.saved && answer.saved.length) {
                // Show the new photos (as "processing") and let the poll below swap their thumbnails in.
                window.setTimeout(function () { window.location.reload(); }, errors.length ? 2500 : 300);
            }
            input.value = "";
        });
        xhr.addEventListener("error", function () { state.textContent = text.failed; state.classList.add("c-error"); });
        xhr.send(data);
    });

    var list = document.querySelector(".c-photos");
    if (list) {
        list.addEventListener("click", function (event) {
            var button = event.target.closest("[data-move]");
            if (!button) { return; }
            var item = button.closest("li");
            if (button.dataset.move === "up" && item.previousElementSibling) {
                list.insertBefore(item, item.previousElementSibling);
            } else if (button.dataset.move === "down" && item.nextElementSibling) {
                list.insertBefore(item.nextElementSibling, item);
            }
        });
    }

    function poll() {
        if (!document.querySelector(".c-photo[data-ready='0']")) { return; }
        fetch(form.dataset.statusUrl, {headers: {Accept: "application/json"}, credentials: "same-origin"})
            .then(function (response) { return response.json(); })
            .then(function (answer) {
                answer.photos.forEach(function (photo) {
                    var item = document.querySelector(".c-photo[data-photo='" + photo.id + "']");
                    if (item && photo.ready && item.dataset.ready === "0") {
                        item.dataset.ready = "1";
                        var box = item.querySelector(".c-photo__img");
                        box.innerHTML = "";
                        var img = document.createElement("img");
                        img.src = photo.thumb;
                        img.alt = "";
                        img.setAttribute("data-testid", "photo-thumb");
                        box.appendChild(img);
                    }
                });
                window.setTimeout(poll, 1500);
            })
            .catch(function () { window.setTimeout(poll, 4000); });
    }
    poll();
}());
